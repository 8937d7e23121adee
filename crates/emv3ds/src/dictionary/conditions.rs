//! The conditions of conditional data elements, each worded as the specification states
//! it. A condition returns [`Tri::Unknown`] when it depends on data the validator does
//! not have (typically the AReq, when validating an ARes without it).

use super::{Condition, Tri};
use crate::validate::{Facts, Role};
use crate::version::MessageVersion::{self, V2_1_0, V2_2_0, V2_3_1};

const fn cond(text: &'static str, test: fn(&Facts<'_, '_>) -> Tri) -> Condition {
    Condition { text, test }
}

fn is(f: &Facts<'_, '_>, name: &str, values: &[&str]) -> bool {
    f.str(name).is_some_and(|v| values.contains(&v))
}

fn tri(b: bool) -> Tri {
    Tri::from_bool(b)
}

pub static RECEIVED_BY_ACS: Condition = cond("required in the AReq the DS sends to the ACS", |f| {
    tri(f.role == Role::Acs)
});

pub static SENT_TO_DS: Condition = cond(
    "required in the AReq the 3DS Server sends to the DS (the DS replaces it with deviceInfo)",
    |f| tri(f.role != Role::Acs),
);

pub static PAYMENT: Condition = cond("required when messageCategory is 01 (payment)", |f| {
    f.payment()
});

fn purchase_auth_inds(v: MessageVersion) -> &'static [&'static str] {
    match v {
        V2_1_0 | V2_2_0 => &["02", "03"],
        V2_3_1 => &["02", "03", "07", "08", "09"],
    }
}

fn purchase_three_ri_inds(v: MessageVersion) -> &'static [&'static str] {
    match v {
        V2_1_0 => &[],
        V2_2_0 => &["01", "02", "06", "07", "08", "09", "11"],
        V2_3_1 => &["01", "02", "06", "07", "08", "09", "11", "15"],
    }
}

pub static PURCHASE: Condition = cond(
    "required when messageCategory is 01, or when it is 02 and threeDSRequestorAuthenticationInd \
     is 02 or 03 (2.3.1: also 07, 08, 09) or threeRIInd is 01, 02, 06, 07, 08, 09 or 11 \
     (2.2.0+; 2.3.1: also 15)",
    |f| {
        f.payment().or(|| {
            tri(is(
                f,
                "threeDSRequestorAuthenticationInd",
                purchase_auth_inds(f.version),
            ) || is(f, "threeRIInd", purchase_three_ri_inds(f.version)))
        })
    },
);

pub static INSTALMENT: Condition = cond(
    "required when threeDSRequestorAuthenticationInd is 03 (instalment), or from 2.2.0 when \
     threeRIInd is 02",
    |f| {
        tri(is(f, "threeDSRequestorAuthenticationInd", &["03"])
            || (f.version >= V2_2_0 && is(f, "threeRIInd", &["02"])))
    },
);

pub static RECURRING: Condition = cond(
    "required when threeDSRequestorAuthenticationInd is 02 or 03, or from 2.2.0 when threeRIInd \
     is 01 or 02",
    |f| {
        tri(is(f, "threeDSRequestorAuthenticationInd", &["02", "03"])
            || (f.version >= V2_2_0 && is(f, "threeRIInd", &["01", "02"])))
    },
);

pub static FIXED_FREQUENCY: Condition = cond(
    "required when recurringInd.frequencyInd is 01 (fixed)",
    |f| {
        tri(f
            .object_member("recurringInd", "frequencyInd")
            .is_some_and(|v| v == "01"))
    },
);

pub static PAY_TOKEN: Condition = cond("required when payTokenInd is true", |f| {
    tri(f.bool("payTokenInd") == Some(true))
});

pub static DECOUPLED_FALLBACK: Condition = cond(
    "required when threeRIInd is 19 (decoupled authentication fallback)",
    |f| tri(is(f, "threeRIInd", &["19"])),
);

pub static DECOUPLED_REQUESTED: Condition = cond(
    "required when threeDSRequestorDecReqInd is Y (2.3.1: or F or B)",
    |f| tri(is(f, "threeDSRequestorDecReqInd", &["Y", "F", "B"])),
);

pub static WHITE_LIST_STATUS: Condition = cond("required when whiteListStatus is present", |f| {
    tri(f.has("whiteListStatus"))
});

pub static TRUST_LIST_STATUS: Condition = cond("required when trustListStatus is present", |f| {
    tri(f.has("trustListStatus"))
});

pub static DEVICE_BINDING_STATUS: Condition =
    cond("required when deviceBindingStatus is present", |f| {
        tri(f.has("deviceBindingStatus"))
    });

pub static CSC_STATUS: Condition = cond("required when cardSecurityCodeStatus is present", |f| {
    tri(f.has("cardSecurityCodeStatus"))
});

pub static BILL_STATE: Condition = cond("required when billAddrState is present", |f| {
    tri(f.has("billAddrState"))
});

pub static SHIP_STATE: Condition = cond("required when shipAddrState is present", |f| {
    tri(f.has("shipAddrState"))
});

pub static JAVASCRIPT_ENABLED: Condition =
    cond("required when browserJavascriptEnabled is true", |f| {
        tri(f.bool("browserJavascriptEnabled") == Some(true))
    });

pub static SPC_SUPPORTED: Condition = cond("required when threeDSRequestorSpcSupport is Y", |f| {
    tri(is(f, "threeDSRequestorSpcSupport", &["Y"]))
});

pub static SDK_TYPE_DEFAULT: Condition = cond("required when sdkType is 01 (default SDK)", |f| {
    tri(is(f, "sdkType", &["01"]))
});

pub static SDK_TYPE_SPLIT: Condition = cond("required when sdkType is 02 (split SDK)", |f| {
    tri(is(f, "sdkType", &["02"]))
});

pub static CHALLENGE_COMPLETED: Condition =
    cond("required when challengeCompletionInd is Y", |f| {
        tri(is(f, "challengeCompletionInd", &["Y"]))
    });

pub static CHALLENGE_ONGOING: Condition = cond("required when challengeCompletionInd is N", |f| {
    tri(is(f, "challengeCompletionInd", &["N"]))
});

pub static PA_NOT_AUTHENTICATED: Condition = cond(
    "required when messageCategory is 01 and transStatus is N, U or R",
    |f| tri(is(f, "transStatus", &["N", "U", "R"])).and(|| f.payment()),
);

pub static PA_AUTHENTICATED: Condition = cond(
    "required when messageCategory is 01 and transStatus is Y or A",
    |f| tri(is(f, "transStatus", &["Y", "A"])).and(|| f.payment()),
);

pub static CHALLENGE_OR_DECOUPLED: Condition = cond("required when transStatus is C or D", |f| {
    tri(is(f, "transStatus", &["C", "D"]))
});

pub static AUTHENTICATED_OR_NOT: Condition = cond("required when transStatus is Y or N", |f| {
    tri(is(f, "transStatus", &["Y", "N"]))
});

pub static CHALLENGE: Condition = cond("required when transStatus is C", |f| {
    tri(is(f, "transStatus", &["C"]))
});

pub static DECOUPLED: Condition = cond("required when transStatus is D", |f| {
    tri(is(f, "transStatus", &["D"]))
});

pub static DECOUPLED_CONFIRMED: Condition = cond("required when acsDecConInd is Y", |f| {
    tri(is(f, "acsDecConInd", &["Y"]))
});

pub static SPC_CHALLENGE: Condition = cond("required when transStatus is S (SPC)", |f| {
    tri(is(f, "transStatus", &["S"]))
});

pub static NOT_DECOUPLED: Condition = cond(
    "required unless the authentication was decoupled (authenticationType 04, \
     authenticationMethod 12, or challengeCancel 03)",
    |f| {
        let decoupled = is(f, "authenticationType", &["04"])
            || is(f, "challengeCancel", &["03"])
            || f.str("authenticationMethod") == Some("12")
            || f.strings("authenticationMethod").any(|m| m == "12");
        tri(!decoupled)
    },
);

pub static UI_HTML: Condition = cond("required when acsUiType is 05 (HTML)", |f| {
    tri(is(f, "acsUiType", &["05"]))
});

pub static UI_SELECT: Condition = cond("required when acsUiType is 02 or 03 (select)", |f| {
    tri(is(f, "acsUiType", &["02", "03"]))
});

pub static UI_ENTRY: Condition = cond("required when acsUiType is 01, 02 or 03", |f| {
    tri(is(f, "acsUiType", &["01", "02", "03"]))
});

pub static UI_OOB: Condition = cond("required when acsUiType is 04 (OOB)", |f| {
    tri(is(f, "acsUiType", &["04"]))
});

pub static CANCELLED_BY_ERRO: Condition = cond("required when challengeCancel is 09 or 10", |f| {
    tri(is(f, "challengeCancel", &["09", "10"]))
});
