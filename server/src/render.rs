//! A page's render runs to its end, even when the browser that asked for it has gone.
//!
//! Leptos streams a page: the shell first, then each `<Suspense>` as its data arrives. When the browser goes away
//! mid-stream (a click elsewhere, a closed tab), hyper drops the response body, and with it the request's reactive
//! owner, while the Suspense's own effect may still be running on another worker: that effect then walks a view
//! whose signals are gone and panics ("Tried to access a reactive value that has already been disposed",
//! reactive_graph 0.2.16). Measured 2026-12-02: 4 such panics in 4,000 page requests cut off after their first
//! bytes (BENCHMARKS.md, "A browser that goes away"). The panic is only ever seen after the disconnect, never by a
//! user, but it is a panic on a server worker.
//!
//! So an HTML response's body is read here, on a task of its own, to its end: a browser still there gets each chunk
//! as it is rendered; one that has gone gets nothing more, and the render still finishes and drops its owner the
//! way a complete response does. A render is bounded work (every page's data is a few queries), and
//! [`RENDER_LIMIT`] bounds it in time all the same. Other responses (the live stream's endless events, JSON,
//! files) pass through untouched: dropping them when the client leaves is what frees them.

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::header::CONTENT_TYPE,
    middleware::Next,
    response::Response,
};
use http_body_util::{channel::Channel, BodyExt};
use std::time::Duration;

/// How long a page's render may go on after its browser has gone.
pub const RENDER_LIMIT: Duration = Duration::from_secs(30);

/// Chunks buffered between the render and a slow browser.
const BUFFERED: usize = 16;

/// Middleware: an HTML response's body is rendered to its end whether or not the browser reads it.
pub async fn to_the_end(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
    if !html {
        return response;
    }
    let (parts, mut body) = response.into_parts();
    let (mut sender, channel) = Channel::<Bytes, axum::Error>::new(BUFFERED);
    tokio::spawn(async move {
        let render = async {
            let mut browser_there = true;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if browser_there && sender.send(frame).await.is_err() {
                            browser_there = false;
                            tracing::debug!("the browser left mid-page; the render goes on to its end");
                        }
                    }
                    Err(error) => {
                        sender.abort(error);
                        return;
                    }
                }
            }
        };
        if tokio::time::timeout(RENDER_LIMIT, render).await.is_err() {
            tracing::warn!(limit = ?RENDER_LIMIT, "a page's render did not end in time; dropped");
        }
    });
    Response::from_parts(parts, Body::new(channel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{middleware::from_fn, routing::get, Router};
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };
    use tower::ServiceExt;

    /// A streamed body of three chunks that says when its last one has been taken.
    fn streamed(kind: &'static str, ended: Arc<AtomicBool>) -> Response {
        let chunks = ["<!DOCTYPE html><html>", "<body>late chunk", "</body></html>"];
        let (mut sender, channel) = Channel::<Bytes, axum::Error>::new(1);
        tokio::spawn(async move {
            for chunk in chunks {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if sender.send_data(Bytes::from(chunk)).await.is_err() {
                    return;
                }
            }
            ended.store(true, Ordering::SeqCst);
        });
        Response::builder()
            .header(CONTENT_TYPE, kind)
            .body(Body::new(channel))
            .expect("response")
    }

    async fn first_chunk_then_gone(kind: &'static str) -> (Bytes, Arc<AtomicBool>) {
        let ended = Arc::new(AtomicBool::new(false));
        let router = Router::new()
            .route(
                "/",
                get({
                    let ended = ended.clone();
                    move || async move { streamed(kind, ended) }
                }),
            )
            .layer(from_fn(to_the_end));
        let request = axum::http::Request::get("/").body(Body::empty()).expect("request");
        let response = router.oneshot(request).await.expect("response");
        let mut body = response.into_body();
        let first = body
            .frame()
            .await
            .expect("a chunk")
            .expect("no error")
            .into_data()
            .expect("data");
        drop(body);
        tokio::time::sleep(Duration::from_millis(300)).await;
        (first, ended)
    }

    #[tokio::test]
    async fn a_page_whose_browser_left_after_its_first_chunk_is_still_rendered_to_its_end() {
        let (first, ended) = first_chunk_then_gone("text/html; charset=utf-8").await;
        assert_eq!(first, "<!DOCTYPE html><html>");
        assert!(ended.load(Ordering::SeqCst), "the render ran to its last chunk");
    }

    #[tokio::test]
    async fn other_streams_stop_when_their_client_leaves() {
        let (first, ended) = first_chunk_then_gone("text/event-stream").await;
        assert_eq!(first, "<!DOCTYPE html><html>");
        assert!(
            !ended.load(Ordering::SeqCst),
            "a live stream is dropped with its client"
        );
    }

    #[tokio::test]
    async fn a_browser_that_stays_gets_every_chunk_in_order() {
        let router = Router::new()
            .route(
                "/",
                get(|| async { streamed("text/html", Arc::new(AtomicBool::new(false))) }),
            )
            .layer(from_fn(to_the_end));
        let request = axum::http::Request::get("/").body(Body::empty()).expect("request");
        let response = router.oneshot(request).await.expect("response");
        let whole = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(whole, "<!DOCTYPE html><html><body>late chunk</body></html>");
    }
}
