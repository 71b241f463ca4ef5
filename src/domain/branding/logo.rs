//! Logo uploads: PNG and JPEG checked by their signature, SVG rebuilt from an allow-list of
//! drawing elements and attributes (no script, no event handlers, no external references),
//! all within a size limit. Stored by content hash.
use diesel::prelude::*;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};
use sha2::{Digest, Sha256};

use crate::db::schema::logos;
use crate::domain::error::DomainError;

pub const MAX_BYTES: usize = 256 * 1024;
const MAX_PIXELS: u32 = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoError {
    #[error("The logo is larger than 256 KB. Export a smaller image.")]
    TooLarge,
    #[error("Upload a PNG, JPEG or SVG image.")]
    UnknownType,
    #[error("The image is wider or taller than 4096 pixels.")]
    TooManyPixels,
    #[error("The SVG file could not be read: {0}")]
    BadSvg(String),
}

const SVG_ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "symbol",
    "use",
];

const SVG_ATTRIBUTES: &[&str] = &[
    "xmlns",
    "version",
    "id",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "width",
    "height",
    "d",
    "points",
    "viewBox",
    "preserveAspectRatio",
    "transform",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "opacity",
    "clip-rule",
    "clip-path",
    "mask",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "letter-spacing",
    "dx",
    "dy",
    "maskUnits",
    "clipPathUnits",
];

/// Checks an upload and returns it ready to store: raster images as they are, SVG rebuilt.
pub fn parse(bytes: &[u8]) -> Result<Logo, LogoError> {
    if bytes.len() > MAX_BYTES {
        return Err(LogoError::TooLarge);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        // IHDR is the first chunk: width and height are big-endian at bytes 16..24.
        let dim = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match (dim(16), dim(20)) {
            (Some(w), Some(h)) if w <= MAX_PIXELS && h <= MAX_PIXELS => {}
            (Some(_), Some(_)) => return Err(LogoError::TooManyPixels),
            _ => return Err(LogoError::UnknownType),
        }
        return Ok(Logo {
            content_type: "image/png",
            bytes: bytes.to_vec(),
        });
    }
    if bytes.starts_with(b"\xff\xd8\xff") {
        return Ok(Logo {
            content_type: "image/jpeg",
            bytes: bytes.to_vec(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| LogoError::UnknownType)?;
    if !text.contains("<svg") {
        return Err(LogoError::UnknownType);
    }
    Ok(Logo {
        content_type: "image/svg+xml",
        bytes: sanitize_svg(text)?.into_bytes(),
    })
}

fn allowed_attribute(key: &str, value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.contains("javascript:") || lower.contains("data:") {
        return false;
    }
    // Paint and clip references may only point inside the document.
    if lower.contains("url(")
        && !lower
            .split("url(")
            .skip(1)
            .all(|r| r.trim_start().starts_with('#'))
    {
        return false;
    }
    match key {
        "href" | "xlink:href" => value.starts_with('#'),
        "xmlns:xlink" => value == "http://www.w3.org/1999/xlink",
        _ => SVG_ATTRIBUTES.contains(&key),
    }
}

fn clean_start(e: &BytesStart<'_>) -> Result<Option<BytesStart<'static>>, LogoError> {
    let name = e.name().as_ref().to_string();
    if !SVG_ELEMENTS.contains(&name.as_str()) {
        return Ok(None);
    }
    let mut out = BytesStart::new(name);
    for attr in e.attributes() {
        let attr = attr.map_err(|err| LogoError::BadSvg(err.to_string()))?;
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| LogoError::BadSvg(err.to_string()))?;
        if allowed_attribute(&key, &value) {
            out.push_attribute((key.as_str(), value.as_ref()));
        }
    }
    Ok(Some(out))
}

/// Rebuilds an SVG document from what is allowed; everything inside a refused element is
/// dropped with it.
pub fn sanitize_svg(text: &str) -> Result<String, LogoError> {
    let mut reader = Reader::from_str(text);
    let mut writer = Writer::new(Vec::new());
    let bad = |e: quick_xml::Error| LogoError::BadSvg(e.to_string());
    let write_err = |e: std::io::Error| LogoError::BadSvg(e.to_string());
    // Depth inside a refused element; 0 when writing.
    let mut skipping = 0usize;
    let mut depth = 0usize;
    let mut saw_svg = false;
    loop {
        let event = reader.read_event().map_err(bad)?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                if skipping > 0 {
                    skipping += 1;
                    continue;
                }
                if depth == 0 && e.name().as_ref() != "svg" {
                    return Err(LogoError::BadSvg("the document is not an SVG image".into()));
                }
                match clean_start(&e)? {
                    Some(clean) => {
                        saw_svg |= depth == 0;
                        depth += 1;
                        writer.write_event(Event::Start(clean)).map_err(write_err)?;
                    }
                    None => skipping = 1,
                }
            }
            Event::Empty(e) => {
                if skipping > 0 {
                    continue;
                }
                if let Some(clean) = clean_start(&e)? {
                    saw_svg |= depth == 0;
                    writer.write_event(Event::Empty(clean)).map_err(write_err)?;
                }
            }
            Event::End(e) => {
                if skipping > 0 {
                    skipping -= 1;
                    continue;
                }
                depth = depth.saturating_sub(1);
                writer.write_event(Event::End(e)).map_err(write_err)?;
            }
            Event::Text(t) if skipping == 0 && depth > 0 => {
                writer.write_event(Event::Text(t)).map_err(write_err)?;
            }
            Event::GeneralRef(r) if skipping == 0 && depth > 0 => {
                // Character references and XML's own five entities; nothing a DTD defines.
                let name = r.as_ref().to_string();
                let known = name.starts_with('#')
                    || matches!(name.as_str(), "amp" | "lt" | "gt" | "quot" | "apos");
                if known {
                    writer
                        .write_event(Event::GeneralRef(r))
                        .map_err(write_err)?;
                }
            }
            // Declarations, doctypes (and their entities), comments, CDATA, processing
            // instructions: none is needed to draw a logo.
            _ => {}
        }
    }
    if !saw_svg || depth != 0 {
        return Err(LogoError::BadSvg(
            "the document is not a complete SVG image".into(),
        ));
    }
    let out =
        String::from_utf8(writer.into_inner()).map_err(|e| LogoError::BadSvg(e.to_string()))?;
    Ok(out)
}

/// Stores the logo under its hash (once) and returns the hash.
pub fn store(conn: &mut PgConnection, logo: &Logo) -> Result<String, DomainError> {
    let hash = hex::encode(Sha256::digest(&logo.bytes));
    diesel::insert_into(logos::table)
        .values((
            logos::hash.eq(&hash),
            logos::content_type.eq(logo.content_type),
            logos::bytes.eq(&logo.bytes),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(hash)
}

pub fn find(conn: &mut PgConnection, hash: &str) -> Result<Option<(String, Vec<u8>)>, DomainError> {
    Ok(logos::table
        .find(hash)
        .select((logos::content_type, logos::bytes))
        .first(conn)
        .optional()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn svg_keeps_drawing_and_drops_script() {
        let dirty = r##"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">
<script>alert(2)</script><foreignObject><div>hi</div></foreignObject>
<a href="javascript:alert(3)"><rect width="5" height="5"/></a>
<rect width="10" height="10" fill="url(#g)" style="x" onclick="alert(4)"/>
<use href="https://evil.example/x.svg#a"/><use href="#r"/>
<text x="1" y="5">A &amp; B &x;</text></svg>"##;
        let clean = sanitize_svg(dirty).unwrap();
        assert!(
            clean.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\">")
        );
        for gone in [
            "script",
            "alert",
            "onload",
            "onclick",
            "foreignObject",
            "evil",
            "style",
            "boom",
            "ENTITY",
        ] {
            assert!(!clean.contains(gone), "{gone} survived in {clean}");
        }
        assert!(clean.contains(r##"fill="url(#g)""##));
        assert!(clean.contains(r##"<use href="#r"/>"##));
        assert!(clean.contains("A &amp; B"));
    }

    #[test]
    fn uploads_are_checked_by_content() {
        assert_eq!(parse(b"GIF89a....").unwrap_err(), LogoError::UnknownType);
        assert_eq!(
            parse(&vec![b'a'; MAX_BYTES + 1]).unwrap_err(),
            LogoError::TooLarge
        );
        assert!(matches!(
            parse(b"<html><svg></html>"),
            Err(LogoError::BadSvg(_))
        ));
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0x20, 0, 0, 0, 0, 16]);
        assert_eq!(parse(&png).unwrap_err(), LogoError::TooManyPixels);
    }
}
