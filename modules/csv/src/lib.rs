//! csv transformer (in progress)
