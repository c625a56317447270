//! A gallery carried in a share link: its JSON, deflated and written in URL-safe base64, so a
//! teacher's few drawings travel in the address itself — after its `#`, which browsers never
//! send to a server (no upload, nothing in server logs).

use super::gallery::{Gallery, GalleryError, MAX_FILE_BYTES};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read, Write};

/// Longest gallery text put in a link: links much longer than this are cut by chat apps, LMS
/// editors and some servers. A larger gallery is shared as a file instead.
pub const MAX_LINK_CHARS: usize = 6_000;

/// `gallery` as link text, or why it does not fit in a link.
pub fn to_link_text(gallery: &Gallery) -> Result<String, String> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    let packed = encoder
        .write_all(gallery.to_json().as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|e| format!("cannot compress the gallery: {e}"))?;
    let text = URL_SAFE_NO_PAD.encode(packed);
    if text.len() > MAX_LINK_CHARS {
        return Err(format!(
            "your gallery takes {} characters, more than a link holds ({MAX_LINK_CHARS}); \
             share it with Export instead",
            text.len()
        ));
    }
    Ok(text)
}

/// A short fingerprint of link text, to recognise the same link on a later visit.
pub fn digest(text: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(text.trim().as_bytes());
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The gallery in link text made by [`to_link_text`], checked in full like an imported file.
pub fn from_link_text(text: &str) -> Result<Gallery, GalleryError> {
    let damaged = |why: String| GalleryError::NotAGallery(format!("the link's gallery is {why}"));
    let packed = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| damaged(format!("not readable ({e})")))?;
    // Never inflate more than a gallery file may hold, whatever the link claims.
    let mut json = String::new();
    DeflateDecoder::new(packed.as_slice())
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_string(&mut json)
        .map_err(|e| damaged(format!("damaged ({e})")))?;
    Gallery::from_json(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    fn drawing(seed: usize) -> Vec<u8> {
        (0..IMAGE_PIXELS)
            .map(|i| if (i * 7 + seed * 13) % 11 < 3 { 255 } else { 0 })
            .collect()
    }

    fn small_gallery() -> Gallery {
        let mut gallery = Gallery::new(&["α", "β", "γ"]);
        for class in 0..3 {
            gallery.select(class);
            gallery.add(drawing(class)).unwrap();
        }
        gallery
    }

    #[test]
    fn a_gallery_survives_the_round_trip_through_a_link() {
        let gallery = small_gallery();
        let text = to_link_text(&gallery).unwrap();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(from_link_text(&text).unwrap(), gallery);
    }

    #[test]
    fn the_same_link_has_the_same_digest_and_another_link_another() {
        let text = to_link_text(&small_gallery()).unwrap();
        assert_eq!(digest(&text), digest(&format!(" {text}\n")));
        assert_ne!(digest(&text), digest(&text[1..]));
        assert_eq!(digest(&text).len(), 24);
    }

    #[test]
    fn damaged_link_text_is_refused_with_a_message() {
        let text = to_link_text(&small_gallery()).unwrap();
        for bad in ["", "not base64!", &text[..text.len() / 2], "AAAA"] {
            let error = from_link_text(bad).unwrap_err().to_string();
            assert!(error.contains("gallery"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_gallery_too_large_for_a_link_says_so() {
        let mut gallery = Gallery::new(&["a", "b", "c", "d", "e"]);
        let mut seed = 1usize;
        for class in 0..5 {
            gallery.select(class);
            for _ in 0..10 {
                // Noise does not compress: ten examples per class overflow a link.
                let noise = (0..IMAGE_PIXELS)
                    .map(|_| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        (seed >> 56) as u8
                    })
                    .collect();
                gallery.add(noise).unwrap();
            }
        }
        let error = to_link_text(&gallery).unwrap_err();
        assert!(error.contains("Export"), "{error}");
    }
}
