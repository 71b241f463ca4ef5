//! When PostgreSQL plans a statement: once per connection, or for each execution.
//!
//! Why two ways: statements are prepared once per connection (see `prepared`), and planning
//! them for each execution cost more than running them — under load at a leaf tenant 45 % of
//! all CPU was `GetCachedPlan`, against 8 % executing (`perf record -a -g`, wrk on the tree
//! page). So the portal's connections keep one generic plan per statement
//! (`plan_cache_mode = force_generic_plan`, set when the pool opens a connection): lookups by
//! key — the session, the user and their grants, the tenant in view, a device, the children
//! of a node — have one best plan whatever the key.
//!
//! Reads of a whole tenant or subtree do not: the same statement serves a leaf with a dozen
//! devices and the root with a million, and the best plan for one is a disaster for the
//! other (a generic plan sorts the root's million devices for a first page, 2.2 s, or walks
//! every IMEI to find a leaf's twelve, 0.6 s). Those run inside `per_execution`, which plans
//! them for their parameters, as PostgreSQL does for a statement sent unprepared — they are
//! still parsed once. PostgreSQL's own mode (`auto`, a generic plan after five executions
//! if it looks no worse) is no middle way: after five leaf requests it kept a leaf's plan for a
//! root's IMEI search (0.9 s; the soak timed out).
use diesel::PgConnection;
use diesel::connection::SimpleConnection;

/// The connection's default, set when the pool opens it.
pub(super) const ONCE_PER_CONNECTION: &str = "SET plan_cache_mode = force_generic_plan";
const FOR_EACH_EXECUTION: &str = "SET plan_cache_mode = force_custom_plan";

thread_local! {
    /// How many `per_execution` calls deep this thread is: only the outermost switches. (A
    /// connection is used by one blocking thread from checkout to return.)
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with every statement planned for its parameters; for reads whose best plan
/// depends on the size of the tenant or subtree they cover. Calls nest.
///
/// The switch back follows at once: a lookup by key after it keeps its plan, and a `SET` costs
/// a round trip, far less than planning. If `f` fails inside a transaction, the rollback
/// also undoes the switch.
pub fn per_execution<T, E>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let depth = DEPTH.with(|d| d.get());
    if depth > 0 {
        return f(conn);
    }
    conn.batch_execute(FOR_EACH_EXECUTION)?;
    DEPTH.with(|d| d.set(1));
    // Reset even if `f` panics, so that the thread's next connection switches again.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(0));
        }
    }
    let reset = Reset;
    let out = f(conn);
    drop(reset);
    let back = conn.batch_execute(ONCE_PER_CONNECTION);
    let value = out?;
    back?;
    Ok(value)
}
