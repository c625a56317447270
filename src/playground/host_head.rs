//! Head-only adaptation steps on the host: softmax regression on features read back once.
//!
//! A head-only inner loop (ANIL) changes only the output layer; the support features stay what
//! they were. An SGD step on `[25, 64]` features and a `[64, 5]` layer is about 16,000
//! multiply-adds — far less than a device round trip — so after one read-back of the features
//! the steps run here in plain Rust, and the layer (a few hundred numbers) is uploaded after
//! each step, never read back. The step is the device path's exactly: mean cross-entropy,
//! gradient `fᵀ(p − y) / n` and `mean(p − y)`, one rate for weight and bias (an output layer
//! without bias gets a zero one).

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

/// An output layer being adapted on fixed features.
#[derive(Debug, Clone, PartialEq)]
pub struct HostHead {
    /// Support features, `[n, inputs]` row-major.
    features: Vec<f32>,
    /// Each support example's class.
    labels: Vec<usize>,
    /// Weight `[inputs, outputs]` row-major (burn's `Linear` layout).
    weight: Vec<f32>,
    /// Bias `[outputs]`.
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    /// SGD rate of every step.
    rate: f32,
}

impl HostHead {
    /// A head of `outputs` classes (weight `[inputs, outputs]`, bias) on `features` `[n, inputs]`
    /// labelled `labels`, stepping at `rate`.
    pub fn new(
        features: Vec<f32>,
        labels: Vec<usize>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        rate: f32,
    ) -> Result<Self, String> {
        let outputs = bias.len();
        let n = labels.len();
        if outputs == 0 || n == 0 || !weight.len().is_multiple_of(outputs) {
            return Err(format!(
                "a head needs examples and outputs: {n} examples, weight {} for {outputs} outputs",
                weight.len()
            ));
        }
        let inputs = weight.len() / outputs;
        if features.len() != n * inputs || labels.iter().any(|&l| l >= outputs) {
            return Err(format!(
                "{} feature values for {n} examples of {inputs}, labels below {outputs} expected",
                features.len()
            ));
        }
        Ok(Self {
            features,
            labels,
            weight,
            bias,
            inputs,
            outputs,
            rate,
        })
    }

    /// Class probabilities of every support example, and the mean cross-entropy.
    fn forward(&self) -> (Vec<Vec<f32>>, f32) {
        let mut loss = 0.0;
        let probabilities = self
            .features
            .chunks(self.inputs)
            .zip(&self.labels)
            .map(|(f, &label)| {
                let logits: Vec<f32> = (0..self.outputs)
                    .map(|k| {
                        self.bias[k]
                            + (0..self.inputs)
                                .map(|d| f[d] * self.weight[d * self.outputs + k])
                                .sum::<f32>()
                    })
                    .collect();
                let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = logits.iter().map(|z| (z - top).exp()).collect();
                let total: f32 = exps.iter().sum();
                loss += total.ln() + top - logits[label];
                exps.iter().map(|e| e / total).collect()
            })
            .collect();
        (probabilities, loss / self.labels.len() as f32)
    }

    /// The support loss.
    pub fn loss(&self) -> f32 {
        self.forward().1
    }

    /// Fraction of the support examples the head labels right.
    pub fn accuracy(&self) -> f64 {
        let (probabilities, _) = self.forward();
        let right = probabilities
            .iter()
            .zip(&self.labels)
            .filter(|(p, label)| super::adapt::argmax(p) == **label)
            .count();
        right as f64 / self.labels.len() as f64
    }

    /// One SGD step; returns the support loss before it.
    pub fn step(&mut self) -> f32 {
        let (probabilities, loss) = self.forward();
        let scale = self.rate / self.labels.len() as f32;
        for ((f, p), &label) in self
            .features
            .chunks(self.inputs)
            .zip(&probabilities)
            .zip(&self.labels)
        {
            for (k, probability) in p.iter().enumerate() {
                let error = probability - if k == label { 1.0 } else { 0.0 };
                self.bias[k] -= scale * error;
                for (d, feature) in f.iter().enumerate() {
                    self.weight[d * self.outputs + k] -= scale * error * feature;
                }
            }
        }
        loss
    }

    /// The layer as it stands, on `device`.
    pub fn to_linear(&self, device: &Device) -> Linear {
        let weight = TensorData::new(self.weight.clone(), [self.inputs, self.outputs]);
        let bias = TensorData::new(self.bias.clone(), [self.outputs]);
        Linear {
            weight: Param::from_tensor(Tensor::from_data(weight, device)),
            bias: Some(Param::from_tensor(Tensor::from_data(bias, device))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn head(rate: f32) -> HostHead {
        let mut rng = Rng::new(4);
        let mut value = |scale: f32| (rng.below(2001) as f32 / 1000.0 - 1.0) * scale;
        let (n, inputs, outputs) = (6, 4, 3);
        let features = (0..n * inputs).map(|_| value(2.0)).collect();
        let weight = (0..inputs * outputs).map(|_| value(0.5)).collect();
        let bias = (0..outputs).map(|_| value(0.1)).collect();
        HostHead::new(features, vec![0, 1, 2, 0, 1, 2], weight, bias, rate).unwrap()
    }

    /// The step's update is −rate × the loss gradient: checked against central differences.
    #[test]
    fn the_step_follows_the_loss_gradient() {
        let rate = 1e-3;
        let start = head(rate);
        let mut stepped = start.clone();
        stepped.step();
        let h = 1e-2;
        let slope = |nudge: &dyn Fn(&mut HostHead, f32)| {
            let (mut up, mut down) = (start.clone(), start.clone());
            nudge(&mut up, h);
            nudge(&mut down, -h);
            (up.loss() - down.loss()) / (2.0 * h)
        };
        for i in 0..start.weight.len() {
            let gradient = slope(&|head: &mut HostHead, by| head.weight[i] += by);
            let moved = (start.weight[i] - stepped.weight[i]) / rate;
            assert!(
                (gradient - moved).abs() < 2e-3,
                "weight {i}: {gradient} vs {moved}"
            );
        }
        for k in 0..start.bias.len() {
            let gradient = slope(&|head: &mut HostHead, by| head.bias[k] += by);
            let moved = (start.bias[k] - stepped.bias[k]) / rate;
            assert!(
                (gradient - moved).abs() < 2e-3,
                "bias {k}: {gradient} vs {moved}"
            );
        }
    }

    #[test]
    fn steps_lower_the_loss_and_bad_shapes_are_refused() {
        let mut head = head(0.5);
        let first = head.step();
        let last = (0..20).map(|_| head.step()).last().unwrap();
        assert!(last < 0.5 * first, "{first} -> {last}");
        assert!(HostHead::new(vec![0.0; 8], vec![0, 1], vec![0.0; 6], vec![0.0; 3], 0.1).is_err());
        assert!(HostHead::new(vec![0.0; 4], vec![0, 3], vec![0.0; 6], vec![0.0; 3], 0.1).is_err());
        assert!(HostHead::new(vec![], vec![], vec![], vec![], 0.1).is_err());
    }
}
