//! Parameter-space vectors: a network's parameters (or gradients) as one list of flat tensors.
//!
//! burn differentiates once, so algorithms that need more — second-order MAML's Hessian-vector
//! products, Meta-SGD's per-parameter learning rates — work on explicit vectors in parameter
//! space instead: read a module's gradients or values into a [`ParamVec`], combine vectors, and
//! write one back as new parameter values or as gradients for an optimiser. Entries follow the
//! module's parameter order, so vectors of two modules with the same architecture line up.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// One flat tensor per float parameter, in module order, off the autodiff graph.
#[derive(Debug, Clone)]
pub struct ParamVec(Vec<Tensor<1>>);

/// Flattens a parameter-shaped tensor.
fn flat<const D: usize>(tensor: Tensor<D>) -> Tensor<1> {
    let size = tensor.shape().num_elements();
    tensor.reshape([size])
}

impl ParamVec {
    /// The gradient of `loss` with respect to every parameter of `module` (zeros where the
    /// loss does not depend on one).
    pub fn gradient<M: Module>(module: &M, loss: Tensor<1>) -> Self {
        struct Collect<'a>(&'a GradientsParams, Vec<Tensor<1>>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let value = param.val();
                let grad = self
                    .0
                    .get::<D>(param.id)
                    .unwrap_or_else(|| value.clone().inner().zeros_like());
                self.1.push(flat(grad));
            }
        }
        let grads = GradientsParams::from_grads(loss.backward(), module);
        let mut collect = Collect(&grads, Vec::new());
        module.visit(&mut collect);
        Self(collect.1)
    }

    /// The current values of `module`'s parameters.
    pub fn values<M: Module>(module: &M) -> Self {
        struct Collect(Vec<Tensor<1>>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.push(flat(param.val().inner()));
            }
        }
        let mut collect = Collect(Vec::new());
        module.visit(&mut collect);
        Self(collect.0)
    }

    /// A vector from one flat tensor per parameter, in a module's visiting order.
    pub fn from_parts(parts: Vec<Tensor<1>>) -> Self {
        Self(parts)
    }

    /// One flat tensor per parameter, in the module's visiting order (for Conv-4: the first
    /// convolution's weights first).
    pub fn parts(&self) -> &[Tensor<1>] {
        &self.0
    }

    /// The mean of `vectors` (at least one).
    pub fn mean(vectors: Vec<Self>) -> Self {
        let count = vectors.len() as f64;
        let mut vectors = vectors.into_iter();
        let first = vectors.next().expect("the mean of no vectors");
        vectors
            .fold(first, |sum, v| sum.add_scaled(&v, 1.0))
            .scale(1.0 / count)
    }

    /// `self + scale · other`.
    pub fn add_scaled(&self, other: &Self, scale: f64) -> Self {
        self.zip(other, |a, b| a + b * scale)
    }

    /// A vector of the same shape with every element `value`.
    pub fn fill(&self, value: f64) -> Self {
        Self(self.0.iter().map(|a| a.zeros_like() + value).collect())
    }

    /// A vector of the same shape that is zero except in its last `count` entries (a network's
    /// output layer: weight and bias come last), which are `value`.
    pub fn fill_last(&self, value: f64, count: usize) -> Self {
        let first_kept = self.0.len().saturating_sub(count);
        Self(
            self.0
                .iter()
                .enumerate()
                .map(|(i, a)| a.zeros_like() + if i >= first_kept { value } else { 0.0 })
                .collect(),
        )
    }

    /// `factor · self`.
    pub fn scale(&self, factor: f64) -> Self {
        Self(self.0.iter().map(|a| a.clone() * factor).collect())
    }

    /// `self − other`.
    pub fn sub(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a - b)
    }

    /// The element-wise product `self ⊙ other`.
    pub fn mul(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a * b)
    }

    /// Every entry times the one-element tensor `factor`.
    pub fn scale_by(&self, factor: &Tensor<1>) -> Self {
        Self(self.0.iter().map(|a| a.clone() * factor.clone()).collect())
    }

    /// The inner product ⟨self, other⟩, as a one-element tensor (no read-back).
    pub fn dot(&self, other: &Self) -> Tensor<1> {
        let products: Vec<Tensor<1>> = self.mul(other).0.into_iter().map(|a| a.sum()).collect();
        Tensor::cat(products, 0).sum()
    }

    /// Every entry, in order, read back synchronously (the CPU backend only: tests, the CLI).
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<f32> {
        self.0
            .iter()
            .flat_map(|t| t.clone().into_data().iter::<f32>().collect::<Vec<_>>())
            .collect()
    }

    /// The Euclidean norm, as a one-element tensor (no read-back).
    pub fn norm(&self) -> Tensor<1> {
        let squares: Vec<Tensor<1>> = self
            .0
            .iter()
            .map(|a| a.clone().powi_scalar(2).sum())
            .collect();
        Tensor::cat(squares, 0).sum().sqrt()
    }

    fn zip(&self, other: &Self, op: impl Fn(Tensor<1>, Tensor<1>) -> Tensor<1>) -> Self {
        assert_eq!(self.0.len(), other.0.len(), "vectors of different modules");
        Self(
            self.0
                .iter()
                .zip(&other.0)
                .map(|(a, b)| op(a.clone(), b.clone()))
                .collect(),
        )
    }

    /// `module` with parameters `θ + scale · self`, as fresh leaves that track gradients and
    /// keep their parameter ids.
    pub fn step<M: Module>(&self, module: M, scale: f64) -> M {
        self.map_onto(module, |value, entry| value + entry * scale)
    }

    /// `module` with its parameters replaced by `self` (fresh leaves, same ids).
    pub fn assign<M: Module>(&self, module: M) -> M {
        self.map_onto(module, |_, entry| entry)
    }

    fn map_onto<M: Module>(&self, module: M, op: impl Fn(Tensor<1>, Tensor<1>) -> Tensor<1>) -> M {
        struct Apply<'a, F>(&'a [Tensor<1>], usize, F);
        impl<F: Fn(Tensor<1>, Tensor<1>) -> Tensor<1>> ModuleMapper for Apply<'_, F> {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let (id, tensor, mapper) = param.consume();
                let shape = tensor.shape();
                let value = (self.2)(flat(tensor.inner()), self.0[self.1].clone());
                self.1 += 1;
                let leaf = Tensor::from_inner(value.reshape(shape)).require_grad();
                Param::from_mapped_value(id, leaf, mapper)
            }
        }
        let mut apply = Apply(&self.0, 0, op);
        let module = module.map(&mut apply);
        assert_eq!(apply.1, self.0.len(), "vector of a different module");
        module
    }

    /// `self` as gradients of `module`'s parameters, for a burn optimiser.
    pub fn to_grads<M: Module>(&self, module: &M) -> GradientsParams {
        struct Register<'a>(&'a [Tensor<1>], usize, GradientsParams);
        impl ModuleVisitor for Register<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let shape = param.val().shape();
                self.2
                    .register::<D>(param.id, self.0[self.1].clone().reshape(shape));
                self.1 += 1;
            }
        }
        let mut register = Register(&self.0, 0, GradientsParams::new());
        module.visit(&mut register);
        register.2
    }
}
