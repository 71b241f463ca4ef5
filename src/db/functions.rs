//! SQL functions for diesel's DSL, so that queries using them stay plain DSL — the same text
//! each time, prepared once per connection (see `prepared`) — instead of `sql` fragments.
use diesel::sql_types::{Text, Uuid};

diesel::define_sql_function! {
    /// `upper(text)`, as the identifier index is built.
    fn upper(x: Text) -> Text;
}

diesel::define_sql_function! {
    /// `lower(text)`, as the name indexes are built.
    fn lower(x: Text) -> Text;
}

diesel::define_sql_function! {
    /// `ROW(key, id)`: a keyset cursor, compared as a row so that one index serves it.
    #[sql_name = "ROW"]
    fn keyset(key: Text, id: Uuid) -> Record<(Text, Uuid)>;
}

diesel::define_sql_function! {
    /// `canopy_now()`: the database's clock, as check-ins and alerts read it (tests move it).
    fn canopy_now() -> diesel::sql_types::Timestamptz;
}
