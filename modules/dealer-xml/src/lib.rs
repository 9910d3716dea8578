//! dealer-xml transformer (in progress)
