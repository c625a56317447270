//! Reading MNIST's canonical IDX files (optionally gzipped).
//!
//! IDX is a tiny big-endian format: a magic number naming the element type and rank, the size of
//! each dimension, then the raw bytes. We accept exactly the two shapes MNIST uses — rank-1 `u8`
//! labels and rank-3 `u8` images of 28×28 — and reject everything else with a message that says
//! what was found.

use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet, NUM_CLASSES};
use std::io::Read;

/// Why an IDX file could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IdxError {
    /// The gzip stream is damaged.
    #[error("not a readable gzip stream: {0}")]
    Gzip(String),
    /// Too few bytes for the header or the data it announces.
    #[error("truncated: expected {expected} bytes, found {actual}")]
    Truncated {
        /// Bytes the header promises.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The magic number is not the one expected.
    #[error("wrong magic number 0x{found:08x} (expected 0x{expected:08x}: {what})")]
    BadMagic {
        /// Magic number read.
        found: u32,
        /// Magic number wanted.
        expected: u32,
        /// What the expected magic stands for.
        what: &'static str,
    },
    /// Images are not 28×28.
    #[error("images are {rows}×{cols}, expected 28×28")]
    BadImageSize {
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// A label is outside 0–9.
    #[error("label {label} at index {index} is not a digit")]
    BadLabel {
        /// Offending label.
        label: u8,
        /// Its position.
        index: usize,
    },
    /// Image and label files disagree in length.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
}

const LABELS_MAGIC: u32 = 0x0000_0801;
const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Returns `bytes` decompressed when they are gzip, unchanged otherwise.
pub fn maybe_gunzip(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| IdxError::Gzip(e.to_string()))?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, IdxError> {
    let word = bytes.get(at..at + 4).ok_or(IdxError::Truncated {
        expected: at + 4,
        actual: bytes.len(),
    })?;
    Ok(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

fn check_magic(bytes: &[u8], expected: u32, what: &'static str) -> Result<(), IdxError> {
    let found = read_u32(bytes, 0)?;
    if found == expected {
        Ok(())
    } else {
        Err(IdxError::BadMagic {
            found,
            expected,
            what,
        })
    }
}

fn body(bytes: &[u8], header: usize, len: usize) -> Result<&[u8], IdxError> {
    bytes.get(header..header + len).ok_or(IdxError::Truncated {
        expected: header + len,
        actual: bytes.len(),
    })
}

/// Parses an IDX label file (gzipped or raw) into digit labels.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let bytes = maybe_gunzip(bytes)?;
    check_magic(&bytes, LABELS_MAGIC, "u8 labels, rank 1")?;
    let count = read_u32(&bytes, 4)? as usize;
    let labels = body(&bytes, 8, count)?.to_vec();
    if let Some(index) = labels.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        return Err(IdxError::BadLabel {
            label: labels[index],
            index,
        });
    }
    Ok(labels)
}

/// Parses an IDX image file (gzipped or raw) of 28×28 `u8` images into one flat pixel buffer.
pub fn parse_images(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let bytes = maybe_gunzip(bytes)?;
    check_magic(&bytes, IMAGES_MAGIC, "u8 images, rank 3")?;
    let count = read_u32(&bytes, 4)? as usize;
    let (rows, cols) = (
        read_u32(&bytes, 8)? as usize,
        read_u32(&bytes, 12)? as usize,
    );
    if rows != IMAGE_SIDE || cols != IMAGE_SIDE {
        return Err(IdxError::BadImageSize { rows, cols });
    }
    Ok(body(&bytes, 16, count * IMAGE_PIXELS)?.to_vec())
}

/// Parses a matching image/label IDX pair into an [`ImageSet`].
pub fn parse_pair(images: &[u8], labels: &[u8]) -> Result<ImageSet, IdxError> {
    let pixels = parse_images(images)?;
    let labels = parse_labels(labels)?;
    let images = pixels.len() / IMAGE_PIXELS;
    if images != labels.len() {
        return Err(IdxError::CountMismatch {
            images,
            labels: labels.len(),
        });
    }
    Ok(ImageSet { labels, pixels })
}

/// Encodes an [`ImageSet`] as raw (ungzipped) IDX image and label files.
pub fn encode_pair(set: &ImageSet) -> (Vec<u8>, Vec<u8>) {
    let n = set.len() as u32;
    let mut images = Vec::with_capacity(16 + set.pixels.len());
    for word in [IMAGES_MAGIC, n, IMAGE_SIDE as u32, IMAGE_SIDE as u32] {
        images.extend(word.to_be_bytes());
    }
    images.extend(&set.pixels);
    let mut labels = Vec::with_capacity(8 + set.labels.len());
    for word in [LABELS_MAGIC, n] {
        labels.extend(word.to_be_bytes());
    }
    labels.extend(&set.labels);
    (images, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ImageSet {
        ImageSet {
            labels: vec![3, 9],
            pixels: (0..2 * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect(),
        }
    }

    #[test]
    fn round_trip_raw_and_gzipped() {
        let set = sample();
        let (images, labels) = encode_pair(&set);
        assert_eq!(parse_pair(&images, &labels).unwrap(), set);
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, b).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(parse_pair(&gz(&images), &gz(&labels)).unwrap(), set);
    }

    #[test]
    fn rejects_swapped_truncated_and_mismatched_files() {
        let set = sample();
        let (images, labels) = encode_pair(&set);
        assert!(matches!(
            parse_pair(&labels, &images),
            Err(IdxError::BadMagic { .. })
        ));
        assert!(matches!(
            parse_images(&images[..images.len() - 1]),
            Err(IdxError::Truncated { .. })
        ));
        let one = ImageSet {
            labels: vec![1],
            pixels: vec![0; IMAGE_PIXELS],
        };
        assert_eq!(
            parse_pair(&images, &encode_pair(&one).1),
            Err(IdxError::CountMismatch {
                images: 2,
                labels: 1
            })
        );
        let mut bad_label = labels.clone();
        bad_label[9] = 12;
        assert!(matches!(
            parse_labels(&bad_label),
            Err(IdxError::BadLabel {
                label: 12,
                index: 1
            })
        ));
        assert!(matches!(
            parse_labels(&[0x1f, 0x8b, 1, 2, 3]),
            Err(IdxError::Gzip(_))
        ));
    }
}
