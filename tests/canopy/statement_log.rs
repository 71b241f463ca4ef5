//! Every statement the portal sent during the whole suite, planned by PostgreSQL: each scan
//! of a data table is bounded by `customer_id` (in its own condition, or in the join that
//! feeds it), apart from the named list. `scripts/test` records the log
//! (`CANOPY_STATEMENT_LOG`, `recorder`) and runs this test after the suite.
use diesel::prelude::*;
use serde_json::Value;

use crate::customer_statements::{ACROSS_CUSTOMERS, touches_data};
use crate::customers::DATA_TABLES;

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// The data table a relation of a plan is (a month of `checkins` is `checkins`).
fn data_table(relation: &str) -> Option<&'static str> {
    if let Some(month) = relation.strip_prefix("checkins_")
        && month.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Some("checkins");
    }
    DATA_TABLES.iter().copied().find(|t| *t == relation)
}

/// The conditions a node applies, as PostgreSQL prints them.
fn conditions(node: &Value) -> String {
    [
        "Index Cond",
        "Filter",
        "Recheck Cond",
        "Hash Cond",
        "Merge Cond",
        "Join Filter",
    ]
    .iter()
    .filter_map(|k| node.get(*k).and_then(Value::as_str))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The data tables this plan scans with no `customer_id` condition on the scan, under it
/// (a bitmap's index scan) or above it (the join that feeds it).
fn unbounded(node: &Value, above: &str, found: &mut Vec<String>) {
    let own = conditions(node);
    let children = node.get("Plans").and_then(Value::as_array);
    let below: String = children
        .into_iter()
        .flatten()
        .filter(|c| c["Node Type"] == "Bitmap Index Scan")
        .map(conditions)
        .collect();
    if node["Node Type"] != "ModifyTable"
        && let Some(table) = node
            .get("Relation Name")
            .and_then(Value::as_str)
            .and_then(data_table)
        && ![&own, &below, above]
            .iter()
            .any(|c| c.contains("customer_id"))
    {
        found.push(table.to_string());
    }
    let above = format!("{above} {own}");
    for child in children.into_iter().flatten() {
        unbounded(child, &above, found);
    }
}

/// How many `$n` the statement takes.
fn parameters(sql: &str) -> usize {
    let mut most = 0;
    let bytes = sql.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'$' {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                most = most.max(n);
            }
        }
    }
    most
}

/// The generic plan of `sql` (as a pooled connection runs it: `plans`), parameters unknown.
fn plan_of(conn: &mut PgConnection, sql: &str) -> Result<Value, String> {
    diesel::sql_query(format!("PREPARE logged AS {sql}"))
        .execute(conn)
        .map_err(|e| e.to_string())?;
    let args = vec!["NULL"; parameters(sql)].join(", ");
    let execute = if args.is_empty() {
        "EXECUTE logged".to_string()
    } else {
        format!("EXECUTE logged({args})")
    };
    let plan = diesel::sql_query(format!("EXPLAIN (FORMAT JSON) {execute}"))
        .get_result::<Plan>(conn)
        .map_err(|e| e.to_string());
    diesel::sql_query("DEALLOCATE logged")
        .execute(conn)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&plan?.plan).map_err(|e| e.to_string())
}

/// A statement the log holds that can be planned: a query or a change, on a data table.
fn planned(sql: &str) -> bool {
    let lower = sql.trim_start().to_ascii_lowercase();
    ["select", "with", "insert", "update", "delete"]
        .iter()
        .any(|k| lower.starts_with(k))
        && touches_data(sql)
}

#[test]
#[ignore = "reads the statement log of a whole run: scripts/test runs it after the suite"]
fn every_statement_of_the_suite_bounds_its_scans_of_data_tables_by_customer() {
    let Ok(path) = std::env::var("CANOPY_STATEMENT_LOG") else {
        panic!("CANOPY_STATEMENT_LOG is unset: run the suite with scripts/test");
    };
    let text = std::fs::read_to_string(&path).expect("the suite's statement log");
    let logged: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<String>(l).expect("a logged statement"))
        .filter(|s| planned(s))
        .collect();
    assert!(
        logged.len() > 200,
        "{} statements on data tables in {path}: did the suite run?",
        logged.len()
    );
    let url = crate::helpers::tests_own(&crate::helpers::fresh_database());
    let mut conn = PgConnection::establish(&url).unwrap();
    diesel::sql_query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .unwrap();
    let (mut refused, mut unplanned) = (Vec::new(), Vec::new());
    for sql in &logged {
        let named = ACROSS_CUSTOMERS.iter().any(|(_, f)| sql.contains(f));
        match plan_of(&mut conn, sql) {
            Err(e) => unplanned.push(format!("{e}: {sql}")),
            Ok(plan) if !named => {
                let mut found = Vec::new();
                for p in plan.as_array().into_iter().flatten() {
                    unbounded(&p["Plan"], "", &mut found);
                }
                if !found.is_empty() {
                    refused.push(format!("{found:?}: {sql}"));
                }
            }
            Ok(_) => {}
        }
    }
    for r in &refused {
        println!("NO CUSTOMER {}", &r[..r.len().min(600)]);
    }
    for u in &unplanned {
        println!("NOT PLANNED {}", &u[..u.len().min(600)]);
    }
    println!(
        "{} statements on data tables planned, {} not planned",
        logged.len() - unplanned.len(),
        unplanned.len()
    );
    assert!(unplanned.is_empty(), "{} not planned", unplanned.len());
    assert!(refused.is_empty(), "{} statements", refused.len());
}

#[test]
fn a_scan_is_bounded_by_its_own_condition_or_by_the_join_above_it() {
    let plan: Value = serde_json::json!({
        "Node Type": "Hash Join",
        "Hash Cond": "((s.customer_id = d.customer_id) AND (s.device_id = d.id))",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "checkin_states"},
            {"Node Type": "Bitmap Heap Scan", "Relation Name": "devices",
             "Recheck Cond": "(tenant_path >= $1)",
             "Plans": [{"Node Type": "Bitmap Index Scan",
                        "Index Cond": "((customer_id = $2) AND (tenant_path >= $1))"}]},
        ]
    });
    let mut found = Vec::new();
    unbounded(&plan, "", &mut found);
    assert!(found.is_empty(), "{found:?}");
    let alone = serde_json::json!({
        "Node Type": "Index Scan", "Relation Name": "checkins_2026_12",
        "Index Cond": "(device_id = $1)",
    });
    unbounded(&alone, "", &mut found);
    assert_eq!(found, ["checkins"]);
    assert_eq!(parameters("SELECT $1, $12 WHERE x = $3"), 12);
    assert!(!planned("SELECT 1 FROM tenants"));
    assert!(planned(
        "UPDATE devices SET name = $1 WHERE customer_id = $2"
    ));
}
