//! The positional form of each input a step or workflow takes. Callers from other SDKs pass
//! arguments in order or as one object; each type's order is declared here once, so a step and
//! the workflow that passes the same input on cannot read it differently.

use serde::de::DeserializeOwned;
use temporalio_common::data_converters::RawValue;

use crate::args::{ArgError, from_args};
use crate::messages::{
    ClassifyInput, EnrichmentPlanInput, FetchInput, GardenerArgs, HarvestArgs, ImportArgs,
    ParseInput, PinInput, SelectInput, StageInput, SupplierList,
};

pub(crate) trait Positional: DeserializeOwned {
    /// The fields in argument order.
    const FIELDS: &'static [&'static str];
    /// What the caller should pass, for the error when it did not.
    const EXPECTED: &'static str;

    /// The input from its arguments in order, or from one object.
    fn from_raw(input: &RawValue) -> Result<Self, ArgError> {
        from_args(input, Self::FIELDS, Self::EXPECTED)
    }
}

macro_rules! positional {
    ($($ty:ty: [$($field:literal),*], $expected:literal;)*) => {$(
        impl Positional for $ty {
            const FIELDS: &'static [&'static str] = &[$($field),*];
            const EXPECTED: &'static str = $expected;
        }
    )*};
}

positional! {
    HarvestArgs: ["supplier_code", "tenant_id"], "(supplier_code, tenant_id?)";
    ImportArgs: ["url", "module", "tenant_id", "supplier_code"],
        "(url, module?, tenant_id?, supplier_code?)";
    GardenerArgs: ["tenant_id", "batch_size", "max_batches"],
        "(tenant_id, batch_size?, max_batches?)";
    SupplierList: ["tenant_id"], "(tenant_id)";
    FetchInput: ["url"], "(url) or a FetchInput object";
    PinInput: ["feed", "module"], "(feed, module?)";
    ParseInput: ["feed", "module", "config", "module_digest"],
        "(feed, module?, config?, module_digest?)";
    StageInput: ["tenant", "supplier", "run_id", "products"],
        "a StageInput object {tenant, supplier, products, run_id?, url?, etag?, last_modified?}";
    EnrichmentPlanInput: ["tenant", "classifier", "batch_size"],
        "(tenant, classifier?, batch_size?)";
    SelectInput: ["tenant", "supplier", "after", "limit"], "(tenant, supplier?, after?, limit)";
    ClassifyInput: ["tenant", "products", "classifier", "config", "retry_max", "run", "at"],
        "a ClassifyInput object {tenant, products, classifier, config?, retry_max, run, at}";
}
