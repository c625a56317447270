//! The canvas playground's logic, independent of the browser: turning a drawing into an MNIST
//! style input ([`preprocess`]), the support set a person builds ([`gallery`]) and shares in
//! a link ([`link`]), and adapting a meta-trained network to it one visible step at a time
//! ([`adapt`]; head-only steps run on the host, [`host_head`]). The page in `ui` only draws, clicks and shows what these modules compute.

pub mod adapt;
pub mod compare;
pub mod gallery;
pub mod host_head;
pub mod link;
pub mod preprocess;
pub mod samples;
