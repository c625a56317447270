//! Data: images, their on-disk formats, and how they reach the model.
//!
//! MNIST arrives as canonical IDX files (`idx`), is converted once into the project's own
//! versioned, gzipped, hash-checked shards (`shard`, listed in a `manifest`), and is held in
//! memory as an [`ImageSet`] that grows shard by shard while the browser is still downloading.
//! Nothing here touches a tensor except [`ImageSet::batch`], which turns chosen images into the
//! model's input on any device.

pub mod augment;
pub mod episode;
pub mod glyphs;
pub mod idx;
pub mod manifest;
pub mod protocol;
pub mod shard;
pub mod style;
pub mod tasks;

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Side length of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of digit classes.
pub const NUM_CLASSES: usize = 10;

/// Which part of MNIST a set of images comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The 60,000 training images.
    Train,
    /// The 10,000 test images.
    Test,
}

/// Labelled 28×28 grey-scale images, pixels stored as bytes (0 = background, 255 = ink).
/// Serialised with its bytes as byte strings (a `Uint8Array` each when posted to a worker).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageSet {
    /// One label (0–9) per image.
    #[serde(with = "serde_bytes")]
    pub labels: Vec<u8>,
    /// `labels.len() * IMAGE_PIXELS` bytes, image after image, row-major.
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// A batch ready for the model: images `[n, 1, 28, 28]` in `[0, 1]` and their labels `[n]`.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Input images.
    pub images: Tensor<4>,
    /// Class indices.
    pub labels: Tensor<1, Int>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// A copy of the images in `range`.
    pub fn range(&self, range: std::ops::Range<usize>) -> ImageSet {
        ImageSet {
            labels: self.labels[range.clone()].to_vec(),
            pixels: self.pixels[range.start * IMAGE_PIXELS..range.end * IMAGE_PIXELS].to_vec(),
        }
    }

    /// Makes room for `more` images, so that appending them copies none already here.
    pub fn reserve(&mut self, more: usize) {
        self.labels.reserve(more);
        self.pixels.reserve(more.saturating_mul(IMAGE_PIXELS));
    }

    /// Appends every image of `other` (used as shards arrive).
    pub fn extend(&mut self, other: ImageSet) {
        self.labels.extend(other.labels);
        self.pixels.extend(other.pixels);
    }

    /// Every image, in order, as one batch on `device`.
    pub fn to_batch(&self, device: &Device) -> Batch {
        let indices: Vec<usize> = (0..self.len()).collect();
        self.batch(&indices, device)
    }

    /// The images at `indices` as one batch on `device`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Batch {
        let mut pixels = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend(self.image(i).iter().map(|&p| f32::from(p) / 255.0));
            labels.push(i64::from(self.labels[i]));
        }
        let n = indices.len();
        Batch {
            images: Tensor::from_data(
                TensorData::new(pixels, [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
                device,
            ),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
        }
    }
}

/// Why shards on disk could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is wrong.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// A shard is wrong.
    #[error(transparent)]
    Shard(#[from] shard::ShardError),
}

/// Loads and verifies every shard listed in `dir/manifest.json`: `(train, test)` images.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_dir(dir: &std::path::Path) -> Result<(ImageSet, ImageSet), LoadError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let manifest_bytes = read("manifest.json")?;
    let manifest = manifest::Manifest::parse(&String::from_utf8_lossy(&manifest_bytes))?;
    let (mut train, mut test) = (ImageSet::default(), ImageSet::default());
    for entry in &manifest.shards {
        let shard = shard::decode_verified(entry, &read(&entry.file)?)?;
        match shard.split {
            Split::Train => train.extend(shard.images),
            Split::Test => test.extend(shard.images),
        }
    }
    Ok((train, test))
}
