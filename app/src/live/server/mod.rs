//! The server side of live updates: the hub that fans changes out, the task that follows the database's record of
//! them, and the stream open pages read.

mod follow;
mod hub;
mod stream;

pub use hub::{Changes, Delivery};
pub use stream::{stream, MaxStreamAge, PATH};
