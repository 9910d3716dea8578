//! hotline transformer (in progress)
