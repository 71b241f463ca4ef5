//! CSV downloads of reports (audit log, usage), shared shape: header, rows, attachment.
use actix_web::HttpResponse;
use actix_web::http::header;

use crate::error::AppError;

/// A cell a spreadsheet will not run: text starting like a formula gets a leading quote.
pub fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Report CSV: every cell guarded against formulas.
pub fn csv_download(
    filename: &str,
    header_row: &[String],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, AppError> {
    csv_attachment(
        filename,
        header_row,
        rows.into_iter()
            .map(|r| r.iter().map(|c| cell(c)).collect()),
    )
}

/// CSV as a download, cells as given (the device export must round-trip through import).
pub fn csv_attachment(
    filename: &str,
    header_row: &[String],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, AppError> {
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header_row).map_err(fail)?;
    for row in rows {
        out.write_record(&row).map_err(fail)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
