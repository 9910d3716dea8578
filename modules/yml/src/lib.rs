//! yml transformer (in progress)
