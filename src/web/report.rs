//! CSV downloads (devices, audit log, usage), one shape: header, rows, attachment, and
//! every cell guarded against formulas.
use actix_web::HttpResponse;
use actix_web::http::header;

use crate::domain::spreadsheet::guard;
use crate::error::AppError;

/// Every CSV download: header, rows, each cell guarded against formulas.
pub fn csv_download(
    filename: &str,
    header_row: &[String],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, AppError> {
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header_row).map_err(fail)?;
    for row in rows {
        out.write_record(row.iter().map(|c| guard(c)))
            .map_err(fail)?;
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
