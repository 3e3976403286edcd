//! The migrations are compiled into the store (`sqlx::migrate!`): rebuild when one is added or changed, which cargo
//! would not otherwise notice.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
