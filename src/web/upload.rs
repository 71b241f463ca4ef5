//! Multipart forms, read whole within a size limit (uploads here are small: a CSV, a logo).
use std::collections::HashMap;

use actix_multipart::Multipart;
use futures_util::StreamExt;

/// Every field of the form by name; `too_large` is the message when the limit is passed.
pub async fn fields(
    mut payload: Multipart,
    limit: usize,
    too_large: &str,
) -> Result<HashMap<String, Vec<u8>>, String> {
    let mut fields = HashMap::new();
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| format!("The upload failed: {e}"))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| format!("The upload failed: {e}"))?;
            total += chunk.len();
            if total > limit {
                return Err(too_large.to_string());
            }
            bytes.extend_from_slice(&chunk);
        }
        fields.insert(name, bytes);
    }
    Ok(fields)
}
