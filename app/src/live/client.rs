//! The browser's side of live updates: one stream per page, opened by the first island that follows it, shared by
//! every island on the page. It reconnects with backoff (1 s, doubling to 30 s) and hands back the position of the
//! last event it received, so the server replays what it missed or tells it to resync.

use super::{Change, Feed};
use leptos::prelude::*;
use std::{
    cell::{Cell, RefCell},
    future::Future,
    rc::Rc,
    time::Duration,
};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{EventSource, MessageEvent};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// A page reloads what it shows at most this often (a first change after a quiet spell at once): under a burst, a
/// thousand open lists must not each refetch back to back.
const RELOAD_SPACING_MS: f64 = 500.0;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

type Listener = Rc<dyn Fn(Option<&Change>)>;

#[derive(Default)]
struct Stream {
    topics: String,
    position: String,
    source: Option<EventSource>,
    /// Kept alive as long as the source: the browser calls them.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    listeners: Vec<Listener>,
    backoff: Option<Duration>,
}

thread_local! {
    static STREAM: RefCell<Stream> = RefCell::default();
}

/// See [`super::follow`].
pub fn follow<F, Fut>(feed: &Feed, relevant: impl Fn(&Change) -> bool + 'static, reload: F)
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let reloader = Rc::new(Reloader {
        busy: Cell::new(false),
        again: Cell::new(false),
        last_start: Cell::new(f64::NEG_INFINITY),
        reload,
    });
    let listener: Listener = Rc::new(move |change: Option<&Change>| {
        if change.is_some_and(|change| !relevant(change)) {
            return;
        }
        reloader.request();
    });
    let open = STREAM.with_borrow_mut(|stream| {
        stream.listeners.push(listener);
        if stream.source.is_some() {
            return false;
        }
        stream.topics = feed.topics.clone();
        stream.position = feed.since.clone();
        true
    });
    if open {
        connect();
    }
}

/// One reload at a time, started at most every [`RELOAD_SPACING_MS`]; changes that arrive meanwhile ask for one more.
struct Reloader<F> {
    busy: Cell<bool>,
    again: Cell<bool>,
    /// When the last reload started (`Date.now()`, ms).
    last_start: Cell<f64>,
    reload: F,
}

impl<F, Fut> Reloader<F>
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn request(self: &Rc<Self>) {
        if self.busy.replace(true) {
            self.again.set(true);
        } else {
            self.start_in_turn();
        }
    }

    fn start_in_turn(self: &Rc<Self>) {
        let wait = RELOAD_SPACING_MS - (js_sys::Date::now() - self.last_start.get());
        let this = Rc::clone(self);
        if wait > 0.0 {
            set_timeout(move || this.run(), Duration::from_millis(wait as u64));
        } else {
            this.run();
        }
    }

    fn run(self: Rc<Self>) {
        self.again.set(false);
        self.last_start.set(js_sys::Date::now());
        leptos::task::spawn_local(async move {
            (self.reload)().await;
            if self.again.get() {
                self.start_in_turn();
            } else {
                self.busy.set(false);
            }
        });
    }
}

fn connect() {
    let url = STREAM.with_borrow(|stream| {
        format!(
            "/live?topics={}&since={}",
            js_sys::encode_uri_component(&stream.topics),
            js_sys::encode_uri_component(&stream.position)
        )
    });
    let Ok(source) = EventSource::new(&url) else {
        retry_later();
        return;
    };
    let on_change = handler(|event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else {
            return;
        };
        remember(event);
        let changes = event
            .data()
            .as_string()
            .and_then(|d| serde_json::from_str::<Vec<Change>>(&d).ok());
        for change in changes.unwrap_or_default() {
            tell(Some(&change));
        }
    });
    let on_resync = handler(|event| {
        if let Some(event) = event.dyn_ref::<MessageEvent>() {
            remember(event);
        }
        tell(None);
    });
    let on_open = handler(|_| STREAM.with_borrow_mut(|stream| stream.backoff = None));
    let on_error = handler(|_| {
        // Whatever the browser would do by itself, reconnect on our terms: with backoff, and with the position.
        let source = STREAM.with_borrow_mut(|stream| stream.source.take());
        if let Some(source) = source {
            source.close();
        }
        retry_later();
    });
    for (name, handler) in [
        ("changes", &on_change),
        ("resync", &on_resync),
        ("open", &on_open),
        ("error", &on_error),
    ] {
        let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
    }
    STREAM.with_borrow_mut(|stream| {
        stream.source = Some(source);
        stream.handlers = vec![on_change, on_resync, on_open, on_error];
    });
}

fn handler(f: impl Fn(web_sys::Event) + 'static) -> Closure<dyn FnMut(web_sys::Event)> {
    Closure::new(f)
}

fn remember(event: &MessageEvent) {
    let id = event.last_event_id();
    if !id.is_empty() {
        STREAM.with_borrow_mut(|stream| stream.position = id);
    }
}

fn tell(change: Option<&Change>) {
    let listeners = STREAM.with_borrow(|stream| stream.listeners.clone());
    for listener in listeners {
        listener(change);
    }
}

fn retry_later() {
    let delay = STREAM.with_borrow_mut(|stream| {
        let delay = stream.backoff.map_or(FIRST_BACKOFF, |d| (d * 2).min(MAX_BACKOFF));
        stream.backoff = Some(delay);
        delay
    });
    set_timeout(connect, delay);
}
