//! The project's MNIST shard format: small, versioned, gzipped files the browser can stream.
//!
//! Layout before gzip (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `FSLMNIST` |
//! | 2 | format version (1) |
//! | 1 | split (0 = train, 1 = test) |
//! | 1 | reserved, 0 |
//! | 4 | image count `n` |
//! | 2, 2 | rows, cols (28, 28) |
//! | n | labels |
//! | n·784 | pixels, image after image |
//!
//! A shard is listed in the manifest with its byte size and SHA-256, so [`decode_verified`]
//! checks the download before it decodes a single image. Every failure names the file. A page
//! does the same work a piece at a time with a [`ShardDecoder`].

use super::manifest::ShardEntry;
use super::{IMAGE_PIXELS, IMAGE_SIDE, ImageSet, NUM_CLASSES, Split};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// First eight bytes of every decompressed shard.
pub const MAGIC: &[u8; 8] = b"FSLMNIST";
/// Format version this code writes and reads.
pub const VERSION: u16 = 1;
const HEADER_LEN: usize = 20;
/// Bytes hashed, or decompressed, by one [`ShardDecoder::step`]: a few milliseconds of work in
/// a browser.
const STEP_BYTES: usize = 1 << 19;
/// Most images one shard may hold (all of MNIST's training split): bounds what a download may
/// decompress to, whatever its header or manifest claims.
pub const MAX_IMAGES: usize = 60_000;

/// What was wrong with a shard.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShardProblem {
    /// Byte size differs from the manifest.
    #[error("size is {actual} bytes, the manifest says {expected}")]
    Size {
        /// Size from the manifest.
        expected: u64,
        /// Size received.
        actual: u64,
    },
    /// SHA-256 differs from the manifest.
    #[error("SHA-256 is {actual}, the manifest says {expected} (corrupt or replaced file)")]
    Hash {
        /// Hash from the manifest.
        expected: String,
        /// Hash of the bytes received.
        actual: String,
    },
    /// The gzip stream is damaged.
    #[error("gzip stream is damaged: {0}")]
    Gzip(String),
    /// Not a shard at all.
    #[error("not a Few-Shot Lab shard (wrong magic bytes)")]
    Magic,
    /// A shard from a newer or older format.
    #[error("shard format version {0} is not supported (this build reads version {VERSION})")]
    Version(u16),
    /// Header or body shorter than announced.
    #[error("truncated: {expected} bytes expected after decompression, {actual} found")]
    Truncated {
        /// Bytes the header promises.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// Header fields that make no sense.
    #[error("invalid header: {0}")]
    Header(String),
    /// More data than the images the manifest lists (a damaged or hostile file).
    #[error("decompresses to more than the {images} images the manifest lists")]
    TooLarge {
        /// Images the shard may hold.
        images: usize,
    },
    /// The split in the file is not the one the manifest lists.
    #[error("holds {found:?} images, the manifest says {expected:?}")]
    SplitMismatch {
        /// Split from the manifest.
        expected: Split,
        /// Split in the file.
        found: Split,
    },
    /// Image count differs from the manifest.
    #[error("holds {found} images, the manifest says {expected}")]
    CountMismatch {
        /// Count from the manifest.
        expected: usize,
        /// Count in the file.
        found: usize,
    },
}

/// A shard that could not be used, and which file it was.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("shard {file}: {problem}")]
pub struct ShardError {
    /// File name as listed in the manifest.
    pub file: String,
    /// What was wrong.
    pub problem: ShardProblem,
}

/// A decoded shard: which split it belongs to and its images.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    /// Train or test.
    pub split: Split,
    /// The images.
    pub images: ImageSet,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(Sha256::new().chain_update(bytes))
}

/// The hash `hasher` has computed, in hex.
fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serialises and gzips a shard.
pub fn encode(shard: &Shard) -> Vec<u8> {
    let images = &shard.images;
    let mut raw = Vec::with_capacity(HEADER_LEN + images.len() * (1 + IMAGE_PIXELS));
    raw.extend(MAGIC);
    raw.extend(VERSION.to_le_bytes());
    raw.push(match shard.split {
        Split::Train => 0,
        Split::Test => 1,
    });
    raw.push(0);
    raw.extend((images.len() as u32).to_le_bytes());
    raw.extend((IMAGE_SIDE as u16).to_le_bytes());
    raw.extend((IMAGE_SIDE as u16).to_le_bytes());
    raw.extend(&images.labels);
    raw.extend(&images.pixels);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// Bytes a shard of `images` images decompresses to.
fn raw_len(images: usize) -> Option<usize> {
    images
        .checked_mul(1 + IMAGE_PIXELS)?
        .checked_add(HEADER_LEN)
}

/// Parses a decompressed shard of at most `images` images.
fn parse(raw: &[u8], images: usize) -> Result<Shard, ShardProblem> {
    if raw.len() < HEADER_LEN {
        return if raw.starts_with(&MAGIC[..raw.len().min(8)]) && raw.len() >= 8 {
            Err(ShardProblem::Truncated {
                expected: HEADER_LEN,
                actual: raw.len(),
            })
        } else {
            Err(ShardProblem::Magic)
        };
    }
    if &raw[..8] != MAGIC {
        return Err(ShardProblem::Magic);
    }
    let u16_at = |at: usize| u16::from_le_bytes([raw[at], raw[at + 1]]);
    let version = u16_at(8);
    if version != VERSION {
        return Err(ShardProblem::Version(version));
    }
    let split = match raw[10] {
        0 => Split::Train,
        1 => Split::Test,
        other => return Err(ShardProblem::Header(format!("unknown split code {other}"))),
    };
    let count = u32::from_le_bytes([raw[12], raw[13], raw[14], raw[15]]) as usize;
    let (rows, cols) = (usize::from(u16_at(16)), usize::from(u16_at(18)));
    if rows != IMAGE_SIDE || cols != IMAGE_SIDE {
        return Err(ShardProblem::Header(format!(
            "images are {rows}×{cols}, expected 28×28"
        )));
    }
    let expected = match raw_len(count) {
        Some(expected) if count <= images => expected,
        _ => return Err(ShardProblem::TooLarge { images }),
    };
    if raw.len() != expected {
        return Err(ShardProblem::Truncated {
            expected,
            actual: raw.len(),
        });
    }
    let labels = raw[HEADER_LEN..HEADER_LEN + count].to_vec();
    if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= NUM_CLASSES) {
        return Err(ShardProblem::Header(format!("label {bad} is not a digit")));
    }
    let pixels = raw[HEADER_LEN + count..].to_vec();
    Ok(Shard {
        split,
        images: ImageSet { labels, pixels },
    })
}

/// Checks downloaded bytes against their manifest entry, then decodes them.
pub fn decode_verified(entry: &ShardEntry, bytes: &[u8]) -> Result<Shard, ShardError> {
    let mut decoder = ShardDecoder::new(entry, bytes);
    loop {
        if let Some(shard) = decoder.step()? {
            return Ok(shard);
        }
    }
}

/// [`decode_verified`] a piece at a time, so that a page can draw and answer between pieces:
/// each [`ShardDecoder::step`] hashes or decompresses at most [`STEP_BYTES`] bytes, but for
/// the last, which parses the decompressed shard (5,000 images, 3.9 MB, in ours).
pub struct ShardDecoder<'a> {
    entry: &'a ShardEntry,
    bytes: &'a [u8],
    stage: Stage<'a>,
}

/// How far a [`ShardDecoder`] has got.
enum Stage<'a> {
    /// Hashing the download: the first `done` bytes are hashed.
    Hashing { hasher: Sha256, done: usize },
    /// Decompressing into `raw` a shard of at most `images` images.
    Unpacking {
        gzip: flate2::read::GzDecoder<&'a [u8]>,
        raw: Vec<u8>,
        images: usize,
    },
}

impl<'a> ShardDecoder<'a> {
    /// Checks `bytes` against `entry`, then decodes them, as [`Self::step`] is called.
    pub fn new(entry: &'a ShardEntry, bytes: &'a [u8]) -> Self {
        Self {
            entry,
            bytes,
            stage: Stage::Hashing {
                hasher: Sha256::new(),
                done: 0,
            },
        }
    }

    /// Does the next piece of work; `Ok(Some(shard))` once the shard is checked and decoded
    /// (call no more after that, nor after an error).
    pub fn step(&mut self) -> Result<Option<Shard>, ShardError> {
        let entry = self.entry;
        let fail = |problem| ShardError {
            file: entry.file.clone(),
            problem,
        };
        match &mut self.stage {
            Stage::Hashing { hasher, done } => {
                if self.bytes.len() as u64 != entry.bytes {
                    return Err(fail(ShardProblem::Size {
                        expected: entry.bytes,
                        actual: self.bytes.len() as u64,
                    }));
                }
                let end = self.bytes.len().min(*done + STEP_BYTES);
                hasher.update(&self.bytes[*done..end]);
                *done = end;
                if end == self.bytes.len() {
                    let actual = hex(std::mem::take(hasher));
                    if actual != entry.sha256 {
                        return Err(fail(ShardProblem::Hash {
                            expected: entry.sha256.clone(),
                            actual,
                        }));
                    }
                    self.stage = Stage::Unpacking {
                        gzip: flate2::read::GzDecoder::new(self.bytes),
                        raw: Vec::new(),
                        images: entry.count.min(MAX_IMAGES),
                    };
                }
                Ok(None)
            }
            Stage::Unpacking { gzip, raw, images } => {
                // Decompression stops as soon as the output outgrows the images the manifest
                // lists, so a small download cannot expand without bound.
                let limit = raw_len(*images).expect("MAX_IMAGES images fit in memory");
                let want = (limit + 1 - raw.len()).min(STEP_BYTES);
                let read = gzip
                    .by_ref()
                    .take(want as u64)
                    .read_to_end(raw)
                    .map_err(|e| fail(ShardProblem::Gzip(e.to_string())))?;
                if raw.len() > limit {
                    return Err(fail(ShardProblem::TooLarge { images: *images }));
                }
                if read > 0 {
                    return Ok(None);
                }
                let shard = parse(raw, *images).map_err(fail)?;
                if shard.split != entry.split {
                    return Err(fail(ShardProblem::SplitMismatch {
                        expected: entry.split,
                        found: shard.split,
                    }));
                }
                if shard.images.len() != entry.count {
                    return Err(fail(ShardProblem::CountMismatch {
                        expected: entry.count,
                        found: shard.images.len(),
                    }));
                }
                Ok(Some(shard))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(n: usize) -> Shard {
        Shard {
            split: Split::Test,
            images: ImageSet {
                labels: (0..n).map(|i| (i % 10) as u8).collect(),
                pixels: (0..n * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect(),
            },
        }
    }

    fn entry_for(bytes: &[u8], shard: &Shard) -> ShardEntry {
        ShardEntry::describe("test-000.shard", shard, bytes)
    }

    fn gzip(raw: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(raw).unwrap();
        gz.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut raw)
            .unwrap();
        raw
    }

    #[test]
    fn round_trip_through_manifest_checks() {
        let original = shard(12);
        let bytes = encode(&original);
        let entry = entry_for(&bytes, &original);
        assert_eq!(decode_verified(&entry, &bytes).unwrap(), original);
    }

    #[test]
    fn a_large_shard_is_checked_and_decoded_a_piece_at_a_time() {
        // 1,000 images: 785 kB decompressed, two pieces of at most STEP_BYTES.
        let original = shard(1_000);
        let bytes = encode(&original);
        let entry = entry_for(&bytes, &original);
        let mut decoder = ShardDecoder::new(&entry, &bytes);
        let mut steps = 1;
        let decoded = loop {
            match decoder.step().unwrap() {
                Some(shard) => break shard,
                None => steps += 1,
            }
        };
        assert_eq!(decoded, original);
        let pieces = bytes.len().div_ceil(STEP_BYTES) + gunzip(&bytes).len().div_ceil(STEP_BYTES);
        // One more step finds the end of the gzip stream.
        assert_eq!(steps, pieces + 1);
    }

    #[test]
    fn every_bad_input_names_the_file_and_the_problem() {
        let original = shard(3);
        let bytes = encode(&original);
        let entry = entry_for(&bytes, &original);
        let problem = |b: &[u8]| decode_verified(&entry, b).unwrap_err();

        let truncated = problem(&bytes[..bytes.len() - 5]);
        assert_eq!(truncated.file, "test-000.shard");
        assert!(matches!(truncated.problem, ShardProblem::Size { .. }));

        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        assert!(matches!(
            problem(&flipped).problem,
            ShardProblem::Hash { .. }
        ));
        assert!(problem(&flipped).to_string().contains("test-000.shard"));

        // Past the manifest checks (entry rebuilt for the bad bytes), the decoder itself speaks.
        let decoded = |raw: Vec<u8>| {
            let gz = gzip(&raw);
            let entry = entry_for(&gz, &original);
            decode_verified(&entry, &gz).unwrap_err().problem
        };
        let mut raw = gunzip(&bytes);
        raw[0] = b'X';
        assert_eq!(decoded(raw), ShardProblem::Magic);
        let mut raw = gunzip(&bytes);
        raw[8] = 9;
        assert_eq!(decoded(raw), ShardProblem::Version(9));
        let raw = gunzip(&bytes);
        assert!(matches!(
            decoded(raw[..raw.len() - 1].to_vec()),
            ShardProblem::Truncated { .. }
        ));
        assert_eq!(
            decoded(b"<html>not found</html>".to_vec()),
            ShardProblem::Magic
        );

        let not_gzip = b"plain text, not a shard".to_vec();
        let entry = entry_for(&not_gzip, &original);
        assert!(matches!(
            decode_verified(&entry, &not_gzip).unwrap_err().problem,
            ShardProblem::Gzip(_)
        ));

        // A header whose count would overflow the length arithmetic (it wraps on wasm32).
        let mut raw = gunzip(&bytes);
        raw[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decoded(raw), ShardProblem::TooLarge { images: 3 });
        // A decompression bomb: a valid header for one image, then 20 MB of zeros.
        let mut raw = gunzip(&encode(&shard(1)));
        raw.resize(20_000_000, 0);
        let bomb = gzip(&raw);
        assert!(bomb.len() < 100_000);
        let entry = entry_for(&bomb, &shard(1));
        assert_eq!(
            decode_verified(&entry, &bomb).unwrap_err().problem,
            ShardProblem::TooLarge { images: 1 }
        );

        let mut wrong_count = entry_for(&bytes, &original);
        wrong_count.count = 4;
        assert!(matches!(
            decode_verified(&wrong_count, &bytes).unwrap_err().problem,
            ShardProblem::CountMismatch { .. }
        ));
        let mut wrong_split = entry_for(&bytes, &original);
        wrong_split.split = Split::Train;
        assert!(matches!(
            decode_verified(&wrong_split, &bytes).unwrap_err().problem,
            ShardProblem::SplitMismatch { .. }
        ));
    }
}
