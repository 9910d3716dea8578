//! google-merchant transformer (in progress)
