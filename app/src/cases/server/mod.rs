//! Case queries and changes: the Create Case form's draft (`draft`), the one transaction that creates a proactive
//! case (`create`), the lists and the case page (`read`), and work on an open case (`work`).

mod create;
mod draft;
pub(crate) mod follow;
pub(crate) mod reactive;
mod read;
mod work;
