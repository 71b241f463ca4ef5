//! Cells that a spreadsheet opens as text, never as a formula (OWASP's CSV injection advice):
//! one rule for every export, and its inverse for the device import, so that export → import
//! changes nothing.

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell for export: text starting like a formula, or with the quote this adds, gets a
/// leading `'` (so that `unguard` can tell an added quote from one that was there).
pub fn guard(s: &str) -> String {
    if s.starts_with(FORMULA_START) || s.starts_with('\'') {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A cell as imported: the quote `guard` added is taken off again.
pub fn unguard(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_come_back_unchanged() {
        for s in [
            "=HYPERLINK(\"http://x\")",
            "+441234",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'already quoted",
            "''",
            "plain",
            "",
        ] {
            let g = guard(s);
            assert!(!g.starts_with(FORMULA_START), "{g:?}");
            assert_eq!(unguard(&g), s);
        }
        assert_eq!(guard("plain"), "plain");
        assert_eq!(guard("=1+1"), "'=1+1");
    }
}
