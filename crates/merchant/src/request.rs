//! What the shop sends to the requestor API, built from the checkout form and what the
//! browser told it. Pure, so the rules (versions, JavaScript on or off, the 3DS Method's
//! outcome) are tested without a browser.

use emv3ds::MessageVersion;
use serde_json::{Value, json};

/// What the shopper chose on the checkout form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub pan: zeroize::Zeroizing<String>,
    /// `YYMM`.
    pub expiry: String,
    /// Minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric.
    pub currency: String,
    /// A forced `messageVersion`, or none to use the negotiated one.
    pub version: Option<String>,
    /// `threeDSRequestorChallengeInd`.
    pub challenge_ind: String,
    /// `challengeWindowSize` for the CReq.
    pub window_size: String,
    /// Accept decoupled authentication, with this many minutes (`threeDSRequestorDecMaxTime`).
    pub decoupled_minutes: Option<u32>,
    /// The tester enabled Secure Payment Confirmation.
    pub spc: bool,
}

/// Whether the 3DS Method ran (`threeDSCompInd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodOutcome {
    /// The ACS's page notified the shop in time.
    Completed,
    /// There was a 3DS Method URL but no notification (timeout, or no JavaScript).
    NotCompleted,
    /// The card's range has no 3DS Method.
    Unavailable,
}

impl MethodOutcome {
    pub fn code(self) -> &'static str {
        match self {
            MethodOutcome::Completed => "Y",
            MethodOutcome::NotCompleted => "N",
            MethodOutcome::Unavailable => "U",
        }
    }
}

/// What the browser told the shop: its headers, and with JavaScript what the page
/// script read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Browser {
    pub accept: String,
    pub user_agent: String,
    /// The first language of `Accept-Language`.
    pub accept_language: String,
    /// Only when JavaScript ran: language, colour depth, screen height and width, TZ.
    pub script: Option<ScriptFacts>,
    /// The page found the Payment Request API (Secure Payment Confirmation may run).
    pub spc_available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFacts {
    pub language: String,
    pub color_depth: String,
    pub screen_height: String,
    pub screen_width: String,
    pub tz: String,
}

/// The shop's own identity as acquirer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub name: String,
    pub acquirer_bin: String,
    pub acquirer_merchant_id: String,
    pub mcc: String,
    pub country: String,
}

/// Colour depths the protocol accepts (`browserColorDepth`).
const DEPTHS: [&str; 8] = ["1", "4", "8", "15", "16", "24", "32", "48"];

/// The `/v1/auth` body.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the request"
)]
pub fn auth_request(
    shop: &Shop,
    order: &Order,
    browser: &Browser,
    version: &str,
    trans_id: &str,
    method: MethodOutcome,
    notification_url: &str,
    purchase_date: &str,
) -> Value {
    let mut body = json!({
        "threeDSServerTransID": trans_id,
        "deviceChannel": "02",
        "messageCategory": "01",
        "threeDSCompInd": method.code(),
        "threeDSRequestorAuthenticationInd": "01",
        "threeDSRequestorChallengeInd": order.challenge_ind,
        "acctNumber": order.pan.as_str(),
        "cardExpiryDate": order.expiry,
        "acquirerBIN": shop.acquirer_bin,
        "acquirerMerchantID": shop.acquirer_merchant_id,
        "mcc": shop.mcc,
        "merchantCountryCode": shop.country,
        "merchantName": shop.name,
        "purchaseAmount": order.amount_minor.to_string(),
        "purchaseCurrency": order.currency,
        "purchaseExponent": "2",
        "purchaseDate": purchase_date,
        "browserAcceptHeader": non_empty(&browser.accept, "text/html"),
        "browserUserAgent": non_empty(&browser.user_agent, "unknown"),
        "notificationURL": notification_url,
        "challengeWindowSize": order.window_size,
    });
    let language = browser
        .script
        .as_ref()
        .map_or(browser.accept_language.as_str(), |s| s.language.as_str());
    let language = non_empty(language, "en");
    // A version the tester forced may be one no party speaks (to see Erro 102): it
    // gets no version's extras.
    let known = MessageVersion::parse(version);
    script_fields(&mut body, browser, known, language);
    if known != Some(MessageVersion::V2_1_0) {
        body["browserJavascriptEnabled"] = json!(browser.script.is_some());
        if let Some(minutes) = order.decoupled_minutes {
            body["threeDSRequestorDecReqInd"] = json!("Y");
            body["threeDSRequestorDecMaxTime"] = json!(format!("{:05}", minutes.clamp(1, 10_080)));
        }
    }
    if known == Some(MessageVersion::V2_3_1) {
        // An array from 2.3.1 on.
        body["threeDSRequestorChallengeInd"] = json!([order.challenge_ind]);
        body["acceptLanguage"] = json!([language]);
        body["acquirerCountryCode"] = json!(shop.country);
        body["acquirerCountryCodeSource"] = json!("01");
    }
    if known == Some(MessageVersion::V2_3_1) && order.spc && browser.spc_available {
        body["threeDSRequestorSpcSupport"] = json!("Y");
        body["payeeOrigin"] = json!(transport::html::origin(notification_url));
    }
    if let Some(forced) = &order.version {
        body["messageVersion"] = json!(forced);
    }
    body
}

/// The browser elements read by script (`browserScreenWidth`, …): what the page's
/// script reported, or, without JavaScript, the defaults 2.1.0 requires (a real
/// requestor can do no better) and in 2.2.0 the language alone.
fn script_fields(
    body: &mut Value,
    browser: &Browser,
    known: Option<MessageVersion>,
    language: &str,
) {
    match (&browser.script, known) {
        (Some(s), _) => {
            body["browserJavaEnabled"] = json!(false);
            body["browserLanguage"] = json!(language);
            body["browserColorDepth"] = json!(if DEPTHS.contains(&s.color_depth.as_str()) {
                s.color_depth.as_str()
            } else {
                "24"
            });
            body["browserScreenHeight"] = json!(s.screen_height);
            body["browserScreenWidth"] = json!(s.screen_width);
            body["browserTZ"] = json!(s.tz);
        }
        // 2.1.0 requires the script-read fields even without JavaScript: the shop can
        // only send defaults, as real requestors do.
        (None, Some(MessageVersion::V2_1_0)) => {
            body["browserJavaEnabled"] = json!(false);
            body["browserLanguage"] = json!(language);
            body["browserColorDepth"] = json!("24");
            body["browserScreenHeight"] = json!("0");
            body["browserScreenWidth"] = json!("0");
            body["browserTZ"] = json!("0");
        }
        (None, Some(MessageVersion::V2_2_0)) => {
            body["browserLanguage"] = json!(language);
        }
        (None, _) => {}
    }
}

fn non_empty<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.trim().is_empty() {
        default
    } else {
        value
    }
}

/// `MM/YY` (or `MMYY`) as the protocol's `YYMM`.
pub fn expiry_yymm(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let (month, year) = digits.split_at(2);
    let m: u8 = month.parse().ok()?;
    (1..=12).contains(&m).then(|| format!("{year}{month}"))
}

/// `49.90` as minor units (two decimals).
pub fn amount_minor(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: u64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            pan: zeroize::Zeroizing::new("4000000000001000".into()),
            expiry: "3012".into(),
            amount_minor: 4990,
            currency: "978".into(),
            version: None,
            challenge_ind: "01".into(),
            window_size: "03".into(),
            decoupled_minutes: Some(5),
            spc: false,
        }
    }

    fn shop() -> Shop {
        Shop {
            name: "Shop".into(),
            acquirer_bin: "412345".into(),
            acquirer_merchant_id: "M1".into(),
            mcc: "5732".into(),
            country: "826".into(),
        }
    }

    #[test]
    fn forms_read_like_people_type_them() {
        assert_eq!(expiry_yymm("12/30").as_deref(), Some("3012"));
        assert_eq!(expiry_yymm("1330"), None);
        assert_eq!(amount_minor("49.9"), Some(4990));
        assert_eq!(amount_minor("7"), Some(700));
        assert_eq!(amount_minor("1.234"), None);
        assert_eq!(amount_minor("-1"), None);
    }

    #[test]
    fn without_javascript_only_what_the_version_requires_is_sent() {
        let browser = Browser {
            accept: "text/html".into(),
            user_agent: "UA".into(),
            accept_language: "fr-FR".into(),
            script: None,
            spc_available: false,
        };
        let b = |v| {
            auth_request(
                &shop(),
                &order(),
                &browser,
                v,
                "t",
                MethodOutcome::NotCompleted,
                "https://n",
                "20261124000000",
            )
        };
        let v22 = b("2.2.0");
        assert_eq!(v22["browserJavascriptEnabled"], false);
        assert!(v22.get("browserScreenWidth").is_none());
        assert_eq!(v22["browserLanguage"], "fr-FR");
        assert_eq!(v22["threeDSCompInd"], "N");
        assert_eq!(v22["threeDSRequestorDecMaxTime"], "00005");
        let v21 = b("2.1.0");
        assert!(v21.get("browserJavascriptEnabled").is_none());
        assert!(v21.get("threeDSRequestorDecReqInd").is_none());
        assert_eq!(v21["browserColorDepth"], "24");
        let v231 = b("2.3.1");
        assert!(v231.get("browserLanguage").is_none());
        assert_eq!(v231["acceptLanguage"], json!(["fr-FR"]));
        assert_eq!(v231["threeDSRequestorChallengeInd"], json!(["01"]));
        assert_eq!(v22["threeDSRequestorChallengeInd"], "01");
    }

    #[test]
    fn with_javascript_the_script_facts_are_sent() {
        let browser = Browser {
            script: Some(ScriptFacts {
                language: "en-GB".into(),
                color_depth: "30".into(),
                screen_height: "800".into(),
                screen_width: "1280".into(),
                tz: "-60".into(),
            }),
            ..Browser::default()
        };
        let body = auth_request(
            &shop(),
            &order(),
            &browser,
            "2.2.0",
            "t",
            MethodOutcome::Completed,
            "https://n",
            "20261124000000",
        );
        assert_eq!(body["browserJavascriptEnabled"], true);
        assert_eq!(
            body["browserColorDepth"], "24",
            "an unlisted depth becomes 24"
        );
        assert_eq!(body["browserTZ"], "-60");
        assert_eq!(body["threeDSCompInd"], "Y");
        assert_eq!(body["browserAcceptHeader"], "text/html");
    }
}
