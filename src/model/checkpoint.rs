//! Saving and loading model weights as bytes (burnpack), with checks a user-supplied file needs.
//!
//! A file holds the parameters of one backbone (not the [`Network`] wrapper), so files written
//! before there was a choice of backbone still load as the reference CNN; which backbone, at
//! which layer sizes, and how many classes a file holds is recorded in the weights catalogue.

use super::{Architecture, Backbone, Conv4, Network, ReferenceCnn};
use crate::backend::cpu_device;
use crate::meta::params::ParamVec;
use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};

/// Why weights could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Not a burnpack file, or damaged.
    #[error("not a readable weights file: {0}")]
    Unreadable(String),
    /// A weights file for some other architecture.
    #[error("weights do not fit this network: {0}")]
    Mismatch(String),
    /// Weights holding NaN or infinity.
    #[error("weights contain NaN or infinite values")]
    NonFinite,
}

/// Serialises a network's parameters.
pub fn to_bytes(model: Network) -> Vec<u8> {
    match model {
        Network::Reference(net) => module_to_bytes(net),
        Network::Conv4(net) => module_to_bytes(net),
    }
}

/// Serialises a network's parameters wherever it lives: its parameters are read back
/// asynchronously (a GPU in a browser refuses synchronous reads) into a copy on the CPU.
pub async fn to_bytes_async(model: &Network) -> Result<Vec<u8>, String> {
    let cpu = cpu_device();
    let mut parts = Vec::new();
    for part in ParamVec::values(model).parts() {
        let data = part
            .clone()
            .into_data_async()
            .await
            .map_err(|e| format!("reading from the device failed: {e:?}"))?;
        parts.push(Tensor::<1>::from_data(data, &cpu));
    }
    let copy = ParamVec::from_parts(parts).assign(Network::new(
        model.architecture(),
        model.classes(),
        &cpu,
    ));
    Ok(to_bytes(copy))
}

/// Serialises any module's parameters.
pub fn module_to_bytes<M: Module>(module: M) -> Vec<u8> {
    module
        .into_record()
        .into_bytes()
        .expect("an in-memory record always serialises")
        .to_vec()
}

/// Loads parameters saved by [`to_bytes`] into a new `classes`-way network of `architecture`
/// (a backbone at its standard sizes, or with others) on `device`.
///
/// The weights are checked on the CPU first (a synchronous read, which a GPU in a browser
/// would refuse), then loaded into a network on `device` (with autodiff if `device` has it).
pub fn from_bytes(
    bytes: &[u8],
    architecture: impl Into<Architecture>,
    classes: usize,
    device: &Device,
) -> Result<Network, CheckpointError> {
    let architecture = architecture.into();
    architecture.check().map_err(CheckpointError::Mismatch)?;
    let Architecture { backbone, sizes } = architecture;
    match backbone {
        Backbone::Reference => {
            load_module::<ReferenceCnn>(bytes, device, |d| ReferenceCnn::sized(sizes, classes, d))
                .map(Network::Reference)
        }
        Backbone::Conv4 => load_module::<Conv4>(bytes, device, |d| {
            Conv4::sized(sizes.channels, sizes.spatial, classes, d)
        })
        .map(Network::Conv4),
    }
}

/// Loads `bytes` into the module `build` makes, checked on the CPU (readable, the right
/// shapes, finite), then built on `device`.
pub fn load_module<M: Module>(
    bytes: &[u8],
    device: &Device,
    build: impl Fn(&Device) -> M,
) -> Result<M, CheckpointError> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| CheckpointError::Unreadable(e.to_string()))?;
    let model = build(&cpu_device())
        .try_load_record(record)
        .map_err(|e| CheckpointError::Mismatch(e.to_string()))?;
    let mut check = FiniteCheck { all_finite: true };
    model.visit(&mut check);
    if check.all_finite {
        // Loading into a network built on `device` keeps that device's settings (autodiff,
        // gradient tracking), which a plain device move would not.
        Ok(build(device).load_record(model.into_record()))
    } else {
        Err(CheckpointError::NonFinite)
    }
}

struct FiniteCheck {
    all_finite: bool,
}

impl ModuleVisitor for FiniteCheck {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data();
        self.all_finite &= data.iter::<f32>().all(f32::is_finite);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sizes;

    #[test]
    fn the_asynchronous_copy_serialises_the_same_weights() {
        let device = cpu_device();
        device.seed(3);
        let model = Network::new(Backbone::Conv4, 5, &device);
        let copied = pollster::block_on(to_bytes_async(&model)).unwrap();
        let loaded = from_bytes(&copied, Backbone::Conv4, 5, &device).unwrap();
        assert_eq!(
            ParamVec::values(&loaded).to_vec(),
            ParamVec::values(&model).to_vec()
        );
    }
    use burn::module::ModuleMapper;

    #[test]
    fn round_trip_keeps_outputs_for_both_backbones() {
        let device = cpu_device();
        device.seed(1);
        let input = Tensor::<4>::random(
            [2, 1, 28, 28],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let narrow = |backbone| Architecture {
            backbone,
            sizes: Sizes {
                channels: 12,
                hidden: 20,
                spatial: false,
            },
        };
        let spatial = Architecture {
            backbone: Backbone::Conv4,
            sizes: Sizes {
                spatial: true,
                ..narrow(Backbone::Conv4).sizes
            },
        };
        let architectures = [Backbone::Reference, Backbone::Conv4]
            .into_iter()
            .flat_map(|backbone| [backbone.into(), narrow(backbone)])
            .chain([spatial]);
        for architecture in architectures {
            let model = Network::new(architecture, 7, &device);
            let before = model.forward(input.clone()).into_data();
            let loaded = from_bytes(&to_bytes(model), architecture, 7, &device).unwrap();
            assert_eq!(loaded.architecture().describe(), architecture.describe());
            loaded
                .forward(input.clone())
                .into_data()
                .assert_approx_eq::<f32>(&before, burn::tensor::Tolerance::absolute(1e-6));
        }
    }

    struct Poison;
    impl ModuleMapper for Poison {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| t * f32::NAN)
        }
    }

    #[test]
    fn rejects_garbage_and_nan_weights() {
        let device = cpu_device();
        let reference = |classes| Network::new(Backbone::Reference, classes, &device);
        assert!(matches!(
            from_bytes(&to_bytes(reference(5)), Backbone::Reference, 10, &device),
            Err(CheckpointError::Mismatch(_))
        ));
        assert!(matches!(
            from_bytes(&to_bytes(reference(10)), Backbone::Conv4, 10, &device),
            Err(CheckpointError::Mismatch(_))
        ));
        let wider = Architecture {
            backbone: Backbone::Reference,
            sizes: Sizes {
                channels: 32,
                hidden: 128,
                spatial: false,
            },
        };
        assert!(matches!(
            from_bytes(&to_bytes(reference(10)), wider, 10, &device),
            Err(CheckpointError::Mismatch(_))
        ));
        let empty = Architecture {
            backbone: Backbone::Conv4,
            sizes: Sizes {
                channels: 0,
                hidden: 0,
                spatial: false,
            },
        };
        assert!(matches!(
            from_bytes(&to_bytes(reference(10)), empty, 10, &device),
            Err(CheckpointError::Mismatch(why)) if why.contains("channels = 0")
        ));
        assert!(matches!(
            from_bytes(b"definitely not weights", Backbone::Reference, 10, &device),
            Err(CheckpointError::Unreadable(_))
        ));
        let poisoned = reference(10).map(&mut Poison);
        assert!(matches!(
            from_bytes(&to_bytes(poisoned), Backbone::Reference, 10, &device),
            Err(CheckpointError::NonFinite)
        ));
    }
}
