//! json transformer (in progress)
