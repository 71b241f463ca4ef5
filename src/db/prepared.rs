//! SQL text that PostgreSQL parses once per connection.
//!
//! Why: diesel keeps a prepared statement per connection for every query it can prove to be
//! the same text each time — its DSL, including boxed queries — but it sends `sql_query` text
//! and `dsl::sql` fragments unnamed, because their text might be built per request. Unnamed
//! statements are parsed and planned on every execution, and on our pages planning cost more
//! than executing (0.2–0.5 ms against 0.04–0.09 ms a statement, measured with
//! `log_min_duration_statement = 0`). A statement here is `&'static str` text with `$n`
//! placeholders and typed binds: the same text every time by construction, so it is safe for
//! diesel's statement cache (keyed by the text and the bind types), and the first execution on
//! a connection prepares (parses) it for the connection's life; when it is planned is the
//! business of `plans`. Queries whose shape varies with filters
//! are written in diesel's DSL (or as one static text per shape), never as text built per
//! request. The alternatives were weighed: `PREPARE` on connection checkout would mean naming
//! and versioning every statement by hand and `EXECUTE` text per call; a pooler's statement
//! cache is one more process to run. Diesel's own cache needs neither.
//!
//! Binding a value without adding a placeholder is a diesel API behind its
//! `i-implement-a-third-party-backend-and-opt-into-breaking-changes` feature; the diesel
//! version is pinned exactly, and `queries::` in the test suite checks that pages add no
//! parse or plan work after the first request on a connection.
use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A statement of fixed text; see the module documentation.
#[derive(Debug, Clone)]
#[must_use = "a statement runs only when loaded or executed"]
pub struct Prepared<B> {
    sql: &'static str,
    binds: B,
}

/// The statement `sql`, whose placeholders `$1`, `$2`, … are bound in order with `bind`.
pub fn prepared(sql: &'static str) -> Prepared<()> {
    Prepared { sql, binds: () }
}

/// One bound value of SQL type `ST`.
#[derive(Debug, Clone)]
pub struct Bound<ST, V> {
    value: V,
    _type: PhantomData<ST>,
}

impl<B> Prepared<B> {
    /// Binds the next placeholder.
    pub fn bind<ST, V>(self, value: V) -> Prepared<(B, Bound<ST, V>)> {
        Prepared {
            sql: self.sql,
            binds: (
                self.binds,
                Bound {
                    value,
                    _type: PhantomData,
                },
            ),
        }
    }
}

/// The binds of a statement, in order.
pub trait Binds {
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()>;
}

impl Binds for () {
    fn walk<'b>(&'b self, _: &mut AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        Ok(())
    }
}

impl<B, ST, V> Binds for (B, Bound<ST, V>)
where
    B: Binds,
    Pg: HasSqlType<ST>,
    V: ToSql<ST, Pg>,
{
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        self.0.walk(out)?;
        out.push_bind_param_value_only::<ST, V>(&self.1.value)
    }
}

impl<B: Binds> QueryFragment<Pg> for Prepared<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        // Deliberately no `unsafe_to_cache_prepared()`: the text is fixed at compile time.
        out.push_sql(self.sql);
        self.binds.walk(&mut out)
    }
}

impl<B> QueryId for Prepared<B> {
    type QueryId = ();
    // No type-level id: diesel caches by the SQL text and the bind types instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for Prepared<B> {
    type SqlType = Untyped;
}

impl<B, Conn> RunQueryDsl<Conn> for Prepared<B> {}
