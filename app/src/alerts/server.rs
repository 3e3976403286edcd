//! Alert queries.

use super::{
    AlertDetail, AlertFilter, AlertListPage, AlertRow, COUNT_CAP, INDEXED_SEARCH, PAGE_SIZE, SHORT_SEARCH_SCOPE,
};
use crate::{
    domain::{parse_alert_number, AlertNumber, AlertState, Severity},
    journal::{read_journal, JournalOf, JournalPage},
    store::{like_pattern, placeholders, Backend, Store},
    AppError,
};
use sqlx::{AnyConnection, FromRow};

#[derive(FromRow)]
struct AlertRowRecord {
    number: String,
    #[sqlx(try_from = "i64")]
    severity: Severity,
    #[sqlx(try_from = "String")]
    state: AlertState,
    source: String,
    node: String,
    ci: Option<String>,
    description: String,
    case_number: Option<String>,
    last_event_at: String,
}

impl AlertRowRecord {
    fn into_row(self) -> AlertRow {
        AlertRow {
            severity: self.severity,
            state: self.state,
            number: self.number,
            source: self.source,
            node: self.node,
            ci: self.ci,
            description: self.description,
            case_number: self.case_number,
            last_event_at: self.last_event_at,
        }
    }
}

const ROW_COLUMNS: &str = "a.number, a.severity, a.state, a.source, a.node, ci.name AS ci, a.description,
                    c.number AS case_number, a.last_event_at";

#[derive(FromRow)]
struct AlertDetailRecord {
    number: String,
    source: String,
    node: String,
    kind: String,
    resource: String,
    metric_name: String,
    message_key: String,
    description: String,
    #[sqlx(try_from = "i64")]
    severity: Severity,
    #[sqlx(try_from = "String")]
    state: AlertState,
    ci: Option<String>,
    ci_class: Option<String>,
    case_number: Option<String>,
    incident_number: Option<String>,
    event_count: i64,
    first_event_at: String,
    last_event_at: String,
    ib_refreshed_at: Option<String>,
}

/// The row id of the alert with this number.
pub(crate) async fn alert_id(conn: &mut AnyConnection, number: &AlertNumber) -> Result<i64, AppError> {
    sqlx::query_scalar("SELECT id FROM alerts WHERE number = $1")
        .bind(number.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("Alert", number.to_string()))
}

/// A value bound to a filter's placeholder.
enum Bind {
    Text(String),
    Int(i64),
}

/// A filter of All Alerts as SQL over `alerts a`: only the conditions it has, so each can use its index (a
/// condition written `($1 IS NULL OR a.state = $1)` can use none), and its values in placeholder order.
struct Conditions {
    sql: String,
    binds: Vec<Bind>,
    /// Known to match more than [`COUNT_CAP`] alerts without counting them (a search that common, and nothing else).
    past_cap: bool,
}

impl Conditions {
    /// `conn` is asked how common a searched text is (see [`Conditions::search`]).
    async fn of(filter: &AlertFilter, backend: Backend, conn: &mut AnyConnection) -> Result<Self, AppError> {
        let mut conditions = Self {
            sql: String::from("TRUE"),
            binds: Vec::new(),
            past_cap: false,
        };
        if let Some(state) = filter.state {
            conditions.push("a.state = ", Bind::Text(state.as_str().into()));
        }
        if let Some(severity) = filter.severity {
            conditions.push("a.severity = ", Bind::Int(i64::from(severity.code())));
        }
        if let Some(text) = search_text(filter.text.as_deref())? {
            let common = conditions.search(&text, backend, conn).await?;
            conditions.past_cap = common && filter.state.is_none() && filter.severity.is_none();
        }
        Ok(conditions)
    }

    fn placeholder(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn push(&mut self, column: &str, bind: Bind) {
        let placeholder = self.placeholder(bind);
        self.sql.push_str(&format!(" AND {column}{placeholder}"));
    }

    /// Alerts whose number, node, source, description or CI's name holds `text`, ignoring case.
    ///
    /// A rare text is looked up through the trigram indexes, and its alerts sorted. A text that more than
    /// [`COUNT_CAP`] alerts hold (the indexes, read no further than that, tell) is met often in the list's own order:
    /// each alert looked at is tested by itself, until the page or the count's cap is full. Looked up, such a text's
    /// hundred thousand alerts were gathered and hashed before the first row (on PostgreSQL 1.7-9 s a page).
    ///
    /// Returns true when more than [`COUNT_CAP`] alerts hold it.
    async fn search(&mut self, text: &str, backend: Backend, conn: &mut AnyConnection) -> Result<bool, AppError> {
        let pattern = like_pattern(&text.to_lowercase());
        if text.chars().count() < INDEXED_SEARCH {
            let p = self.placeholder(Bind::Text(pattern));
            self.sql.push_str(&format!(
                " AND a.id > (SELECT COALESCE(MAX(id), 0) FROM alerts) - {SHORT_SEARCH_SCOPE} AND {}",
                fields_hold(
                    &p,
                    &format!("SELECT id FROM configuration_items WHERE lower(name) LIKE {p} ESCAPE '\\'")
                )
            ));
            return Ok(false);
        }
        // The trigram lookups of the alerts' own fields and of the CIs' names, each with its placeholder's value.
        let (alerts, cis, key) = match backend {
            Backend::Sqlite => (
                "SELECT rowid FROM alert_search WHERE alert_search MATCH {p}",
                "SELECT rowid FROM ci_search WHERE ci_search MATCH {p}",
                // One FTS5 phrase: the trigram tokenizer matches it as a substring of any one column.
                format!("\"{}\"", text.replace('"', "\"\"")),
            ),
            Backend::Postgres => (
                "SELECT alert_id FROM alert_search WHERE doc LIKE {p} ESCAPE '\\'",
                "SELECT id FROM configuration_items WHERE lower(name) LIKE {p} ESCAPE '\\'",
                pattern.clone(),
            ),
        };
        let (in_fields, on_cis) = how_many_hold(conn, alerts, cis, &key).await?;
        let p = self.placeholder(Bind::Text(key));
        let cis = cis.replace("{p}", &p);
        if in_fields > COUNT_CAP || on_cis > COUNT_CAP {
            // Each alert tested by itself: its fields (on PostgreSQL its search document, by its key: a scalar
            // subquery, which the planner keeps per row rather than joining), or its CI among the matching ones.
            let fields = match backend {
                Backend::Sqlite => fields_hold(&self.placeholder(Bind::Text(pattern)), &cis),
                Backend::Postgres => format!(
                    "((SELECT s.doc FROM alert_search s WHERE s.alert_id = a.id) LIKE {p} ESCAPE '\\'
                      OR a.ci_id IN ({cis}))"
                ),
            };
            self.sql.push_str(&format!(" AND {fields}"));
            return Ok(true);
        }
        self.sql.push_str(&format!(
            " AND a.id IN ({} UNION ALL SELECT s.id FROM alerts s WHERE s.ci_id IN ({cis}))",
            alerts.replace("{p}", &p)
        ));
        Ok(false)
    }

    /// `sql` (which holds the filter's) with the filter's values bound in order.
    fn query_as<'q, O>(&'q self, sql: String) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>
    where
        O: for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        self.binds
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, bind| match bind {
                Bind::Text(text) => query.bind(text.as_str()),
                Bind::Int(n) => query.bind(*n),
            })
    }

    /// How many alerts match, up to one more than [`COUNT_CAP`]; only those raised after the alert `after` when
    /// given.
    async fn count(&self, conn: &mut AnyConnection, after: Option<i64>) -> Result<u64, AppError> {
        if self.past_cap && after.is_none() {
            return Ok(COUNT_CAP + 1);
        }
        // After an id: the alerts past it by their primary key first (a few, for a live list), then the filter.
        // Given the filter and the id together, SQLite walked the filter's index through a year of alerts.
        let from = match after {
            None => "alerts a".to_owned(),
            Some(id) => format!(
                "(SELECT * FROM alerts WHERE id > {id} ORDER BY id LIMIT {}) a",
                COUNT_CAP + 1
            ),
        };
        let (count,): (i64,) = self
            .query_as(format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {from} WHERE {} LIMIT {}) m",
                self.sql,
                COUNT_CAP + 1
            ))
            .fetch_one(&mut *conn)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// `alert.number`, node, source or description holds the LIKE pattern bound at `p` (lower case), or the alert's
/// CI is one of `cis`: tested on the alert's own row.
fn fields_hold(p: &str, cis: &str) -> String {
    format!(
        "(lower(a.number) LIKE {p} ESCAPE '\\' OR lower(a.node) LIKE {p} ESCAPE '\\'
          OR lower(a.source) LIKE {p} ESCAPE '\\' OR lower(a.description) LIKE {p} ESCAPE '\\'
          OR a.ci_id IN ({cis}))"
    )
}

/// How many alerts hold the searched text in their own fields (`alerts`, a trigram lookup of alert ids) and how
/// many are on a CI whose name holds it (`cis`, one of CI ids), each read through its index no further than one
/// more than [`COUNT_CAP`]; `key` is bound at the lookups' `{p}`.
async fn how_many_hold(conn: &mut AnyConnection, alerts: &str, cis: &str, key: &str) -> Result<(u64, u64), AppError> {
    let limit = COUNT_CAP + 1;
    let (alerts, cis) = (alerts.replace("{p}", "$1"), cis.replace("{p}", "$1"));
    let (in_fields, on_cis): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT (SELECT COUNT(*) FROM ({alerts} LIMIT {limit}) f),
                (SELECT COUNT(*) FROM (SELECT id FROM alerts WHERE ci_id IN ({cis}) LIMIT {limit}) c)"
    )))
    .bind(key)
    .fetch_one(conn)
    .await?;
    Ok((
        u64::try_from(in_fields).unwrap_or(0),
        u64::try_from(on_cis).unwrap_or(0),
    ))
}

/// The search text as searched: trimmed, its control characters (which no search field holds) as spaces, at most
/// 200 characters; none when blank.
fn search_text(text: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > 200 {
        return Err(AppError::invalid("text", "Search text is limited to 200 characters."));
    }
    Ok(Some(
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect(),
    ))
}

impl Store {
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn list_alerts(&self, filter: &AlertFilter) -> Result<AlertListPage, AppError> {
        let mut conn = self.pool().acquire().await?;
        let conditions = Conditions::of(filter, self.backend(), &mut conn).await?;
        let counted = conditions.count(&mut conn, None).await?;
        let more = counted > COUNT_CAP;
        let page_size = u64::from(PAGE_SIZE);
        let known_pages = u32::try_from(counted.min(COUNT_CAP).div_ceil(page_size))
            .unwrap_or(u32::MAX)
            .max(1);
        // Past the cap any page may be asked for; past the end it is empty.
        let page = if more {
            filter.page.max(1)
        } else {
            filter.page.clamp(1, known_pages)
        };
        let offset = i64::from(page - 1) * i64::from(PAGE_SIZE);
        let records: Vec<AlertRowRecord> = conditions
            .query_as(format!(
                "SELECT {ROW_COLUMNS}
                 FROM alerts a
                 LEFT JOIN configuration_items ci ON ci.id = a.ci_id
                 LEFT JOIN cases c ON c.id = a.case_id
                 WHERE {}
                 ORDER BY a.last_event_at DESC, a.id DESC
                 LIMIT {PAGE_SIZE} OFFSET {offset}",
                conditions.sql
            ))
            .fetch_all(&mut *conn)
            .await?;
        let pages = match more {
            false => known_pages,
            true if records.len() as u64 == page_size => page.saturating_add(1),
            true => page,
        };
        let (since_id, follow_total) = match more {
            false => (None, counted),
            true => {
                let since: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM alerts")
                    .fetch_one(&mut *conn)
                    .await?;
                (since, follow_total(&conditions, &mut conn, since).await?)
            }
        };
        Ok(AlertListPage {
            rows: records.into_iter().map(AlertRowRecord::into_row).collect(),
            total: counted.min(COUNT_CAP),
            more,
            follow_total,
            since_id,
            page,
            pages,
        })
    }

    /// The count a live All Alerts compares with the one its page was drawn with ([`AlertListPage::follow_total`]):
    /// how many alerts match, while that is at most [`COUNT_CAP`]. Past it, one more than the cap plus how many
    /// matching alerts are newer than the filter's `since_id` (ids only grow), which counts what was raised since
    /// the page was drawn without counting a year of alerts.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn follow_total(&self, filter: &AlertFilter) -> Result<u64, AppError> {
        let mut conn = self.pool().acquire().await?;
        let conditions = Conditions::of(filter, self.backend(), &mut conn).await?;
        let counted = conditions.count(&mut conn, None).await?;
        match filter.since_id {
            Some(since) if counted > COUNT_CAP => follow_total(&conditions, &mut conn, Some(since)).await,
            _ => Ok(counted),
        }
    }

    /// All Alerts' rows of the alerts with these numbers (those that exist), for a list that updates its rows in
    /// place.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_rows(&self, numbers: &[String]) -> Result<Vec<AlertRow>, AppError> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM alerts a
             LEFT JOIN configuration_items ci ON ci.id = a.ci_id
             LEFT JOIN cases c ON c.id = a.case_id
             WHERE a.number IN ({})",
            placeholders(numbers.len())
        );
        let query = numbers
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, number| {
                query.bind(number)
            });
        let records: Vec<AlertRowRecord> = query.fetch_all(self.pool()).await?;
        Ok(records.into_iter().map(AlertRowRecord::into_row).collect())
    }

    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_detail(&self, number: &str) -> Result<AlertDetail, AppError> {
        let number = parse_alert_number(number)?;
        let record: AlertDetailRecord = sqlx::query_as(
            "SELECT a.number, a.source, a.node, a.type AS kind, a.resource, a.metric_name, a.message_key,
                    a.description, a.severity, a.state, ci.name AS ci, ci.class AS ci_class,
                    c.number AS case_number, i.number AS incident_number, a.event_count,
                    a.first_event_at, a.last_event_at, a.ib_refreshed_at
             FROM alerts a
             LEFT JOIN configuration_items ci ON ci.id = a.ci_id
             LEFT JOIN cases c ON c.id = a.case_id
             LEFT JOIN incidents i ON i.id = a.incident_id
             WHERE a.number = $1",
        )
        .bind(number.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Alert", number.to_string()))?;
        Ok(AlertDetail {
            severity: record.severity,
            state: record.state,
            number: record.number,
            source: record.source,
            node: record.node,
            kind: record.kind,
            resource: record.resource,
            metric_name: record.metric_name,
            message_key: record.message_key,
            description: record.description,
            ci: record.ci,
            ci_class: record.ci_class,
            case_number: record.case_number,
            incident_number: record.incident_number,
            event_count: record.event_count,
            first_event_at: record.first_event_at,
            last_event_at: record.last_event_at,
            ib_refreshed_at: record.ib_refreshed_at,
        })
    }

    /// One page of the alert's activity, newest first.
    #[tracing::instrument(skip(self), err(Debug, level = "debug"))]
    pub async fn alert_journal(&self, number: &str, page: u32) -> Result<JournalPage, AppError> {
        let number = parse_alert_number(number)?;
        let mut conn = self.pool().acquire().await?;
        let id = alert_id(&mut conn, &number).await?;
        Ok(read_journal(&mut conn, JournalOf::Alert(id), page).await?)
    }
}

/// Past the cap: one more than it, plus the matching alerts newer than `since` (an empty table has none).
async fn follow_total(conditions: &Conditions, conn: &mut AnyConnection, since: Option<i64>) -> Result<u64, AppError> {
    let newer = conditions.count(conn, Some(since.unwrap_or(0))).await?;
    Ok(COUNT_CAP + 1 + newer)
}
