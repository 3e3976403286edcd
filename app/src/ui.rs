//! Small pieces several pages share.

use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// Sets `data-hydrated` on `<html>` once the page's islands are live. Tests and scripts wait for it rather than
/// sleeping; without JavaScript it never appears, and nothing needs it.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// What a form control gets from its [`Field`]: its id, `aria-invalid` while the field has an error, and
/// `aria-describedby` naming the hint and the error (or the form's message) that describe it.
#[derive(Clone)]
pub struct FieldAria {
    pub id: &'static str,
    pub invalid: Signal<Option<&'static str>>,
    pub described_by: Signal<Option<String>>,
}

/// One form field: its label, its control, a hint and its error, tied together for assistive technology. The
/// error's paragraph is always there (`{id}-error`, role `alert`), so a message that appears in it is announced;
/// the hint is `{id}-hint`. `control` makes the control from the [`FieldAria`] it must carry.
#[component]
pub fn Field<C, V>(
    /// The control's id, which the label is for.
    id: &'static str,
    label: &'static str,
    /// Shown under the control whatever happens (a text, or none).
    #[prop(optional, into)]
    hint: MaybeProp<String>,
    /// This field's error, when the last submit had one.
    #[prop(optional, into)]
    error: Option<Signal<Option<String>>>,
    /// The id of a message about the whole form that, while shown, describes this field too (sign-in's refusal).
    #[prop(default = None)]
    form_error: Option<&'static str>,
    /// Takes the form's whole width.
    #[prop(optional)]
    wide: bool,
    control: C,
) -> impl IntoView
where
    C: FnOnce(FieldAria) -> V,
    V: IntoView + 'static,
{
    let error_id = error.map(|_| format!("{id}-error"));
    // A field's hint is fixed once it is drawn: a field with another hint is drawn again.
    let hint = hint.get_untracked();
    let hint_id = hint.as_ref().map(|_| format!("{id}-hint"));
    let has_error = move || form_error.is_some() || error.is_some_and(|error| error.get().is_some());
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        Signal::derive(move || {
            let ids: Vec<&str> = [
                hint_id.as_deref(),
                form_error,
                error_id.as_deref().filter(|_| has_error()),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!ids.is_empty()).then(|| ids.join(" "))
        })
    };
    let aria = FieldAria {
        id,
        invalid: Signal::derive(move || has_error().then_some("true")),
        described_by,
    };
    view! {
        <div class="field" class:wide=wide>
            <label for=id>{label}</label>
            {control(aria)}
            {hint.map(|hint| view! { <p id=hint_id class="muted">{hint}</p> })}
            {error.map(|error| view! { <p id=error_id class="field-error" role="alert">{move || error.get()}</p> })}
        </div>
    }
}

/// The page for a record or route that does not exist. Rendered on the server, it answers HTTP 404.
#[component]
#[allow(clippy::needless_pass_by_value)] // component props are owned
pub fn NotFound(what: &'static str, key: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let message = if key.is_empty() {
        format!("{what} not found.")
    } else {
        format!("{what} {key} was not found. Check the number, or find it in the list.")
    };
    view! {
        <Title text="Not found" />
        <section class="not-found" aria-labelledby="not-found-heading">
            <h1 id="not-found-heading">"Not found"</h1>
            <p>{message}</p>
            <p>
                <a href="/alerts">"Go to All Alerts"</a>
            </p>
        </section>
    }
}

/// A failed load: not-found errors get the not-found page, others a message saying what to do.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound { what, key } => {
            let what: &'static str = if what == "Case" {
                "Case"
            } else if what == "Alert" {
                "Alert"
            } else {
                "Record"
            };
            view! { <NotFound what key /> }.into_any()
        }
        other => view! {
            <p class="error" role="alert">
                {other.to_string()}
            </p>
        }
        .into_any(),
    }
}

/// One term of a record's fields (`<dl class="fields">`): its name and its value.
#[component]
pub fn Detail(term: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <dt>{term}</dt>
            <dd>{value}</dd>
        </div>
    }
}

/// A table named by the element `labelled_by`, with a header row of `columns`; `children` are its body rows.
#[component]
pub fn DataTable(labelled_by: &'static str, columns: &'static [&'static str], children: Children) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table aria-labelledby=labelled_by>
                <thead>
                    <tr>{columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// "Page 2 of 5" with Previous and Next links (`href` makes each page's link).
#[component]
pub fn Pager(
    page: u32,
    pages: u32,
    total: u64,
    noun: &'static str,
    /// The navigation's accessible name; `{noun} pages` unless given (a page with two lists of one noun names them).
    #[prop(optional, into)]
    label: Option<String>,
    /// `total` is a lower bound: the list was counted only that far (`Page 3 · more than 10,000 alerts`), and
    /// `pages` is one past this page while there may be more.
    #[prop(optional)]
    more: bool,
    href: impl Fn(u32) -> String,
) -> impl IntoView {
    let previous = (page > 1).then(|| href(page - 1));
    let next = (page < pages).then(|| href(page + 1));
    let label = label.unwrap_or_else(|| format!("{noun} pages"));
    let text = match more {
        false => format!(
            "Page {} of {} · {} {noun}",
            grouped(page.into()),
            grouped(pages.into()),
            grouped(total)
        ),
        true => format!("Page {} · more than {} {noun}", grouped(page.into()), grouped(total)),
    };
    view! {
        <nav class="pager" aria-label=label>
            {previous.map(|href| view! { <a href=href rel="prev">"Previous page"</a> })}
            <span>{text}</span>
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    }
}

/// `n` with its thousands grouped by commas, as the totals of big lists are read: `50,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// Which rows of a paged list are shown, `Showing 51–100 of 50,000 items`; just the count when one page holds all.
pub fn showing(page: u32, page_size: u32, shown: usize, total: u64, noun: &str) -> String {
    let first = u64::from(page.max(1) - 1) * u64::from(page_size);
    if first == 0 && shown as u64 >= total {
        return format!("{} {noun}", grouped(total));
    }
    let last = first + shown as u64;
    format!(
        "Showing {}–{} of {} {noun}",
        grouped(first + 1),
        grouped(last),
        grouped(total)
    )
}

/// The query of a link to page `page` of the list whose page parameter is `name`, keeping the pages that `others`
/// (parameter, page) show of the page's other lists; first pages are left out, as a link without them reads.
pub fn pages_query(name: &str, page: u32, others: &[(&str, u32)]) -> String {
    let mut query = format!("?{name}={page}");
    for (other, page) in others.iter().filter(|(other, page)| *other != name && *page > 1) {
        query.push_str(&format!("&{other}={page}"));
    }
    query
}

/// The fields of a submitted form by name, as the browser would post them.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The field's value, if the form sent it (an unticked checkbox is not sent).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone())
    }

    /// The field's value, or empty.
    pub fn text(&self, name: &str) -> String {
        self.optional(name).unwrap_or_default()
    }
}

/// A form that calls the server function of `action`. Without JavaScript the browser posts it to the function's
/// URL, which answers with a redirect back to the page; with JavaScript, `read` builds the function's input from the
/// form's fields and the action is dispatched without a reload. It stands in for leptos' `ActionForm`, whose generic
/// reading of the fields (serde_qs) was 30 KB of the wasm (README, "Size of what a browser downloads").
#[component]
pub fn ServerForm<S, F>(
    action: ServerAction<S>,
    read: F,
    #[prop(optional)] class: &'static str,
    /// The server checks every field and says what is wrong; the browser's own checks would speak first.
    #[prop(optional)]
    novalidate: bool,
    children: Children,
) -> impl IntoView
where
    S: leptos::server_fn::ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    F: Fn(&Fields) -> S + 'static,
{
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        action.dispatch(read(&fields_of(&event)));
    };
    view! {
        <form method="post" action=S::url() class=class novalidate=novalidate on:submit=submit>
            {children()}
        </form>
    }
}

#[cfg(feature = "hydrate")]
fn fields_of(event: &leptos::ev::SubmitEvent) -> Fields {
    use wasm_bindgen::JsCast;
    let data = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok())
        .and_then(|form| web_sys::FormData::new_with_form(&form).ok());
    let mut fields = Vec::new();
    if let Some(Ok(Some(entries))) = data.map(|data| js_sys::try_iter(&data)) {
        for entry in entries.flatten() {
            let pair = js_sys::Array::from(&entry);
            fields.push((
                pair.get(0).as_string().unwrap_or_default(),
                pair.get(1).as_string().unwrap_or_default(),
            ));
        }
    }
    Fields(fields)
}

#[cfg(not(feature = "hydrate"))]
fn fields_of(_: &leptos::ev::SubmitEvent) -> Fields {
    Fields::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_read_with_their_thousands_grouped() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (50_000, "50,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(grouped(n), text);
        }
    }

    #[test]
    fn a_page_says_which_rows_it_shows() {
        assert_eq!(showing(1, 50, 3, 3, "items"), "3 items");
        assert_eq!(showing(1, 50, 0, 0, "items"), "0 items");
        assert_eq!(showing(1, 50, 50, 50_000, "items"), "Showing 1–50 of 50,000 items");
        assert_eq!(
            showing(1_000, 50, 50, 50_000, "items"),
            "Showing 49,951–50,000 of 50,000 items"
        );
        assert_eq!(showing(3, 50, 20, 120, "entries"), "Showing 101–120 of 120 entries");
    }

    #[test]
    fn a_page_link_keeps_the_other_lists_pages() {
        assert_eq!(pages_query("notes_page", 2, &[]), "?notes_page=2");
        assert_eq!(
            pages_query(
                "notes_page",
                1,
                &[("items_page", 3), ("notes_page", 2), ("comments_page", 1)]
            ),
            "?notes_page=1&items_page=3"
        );
    }
}
