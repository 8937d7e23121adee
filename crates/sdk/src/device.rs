//! The device information an SDK collects (`docs/protocol.md` §6.1): `DV`, `DD` (the `Cxxx`
//! parameters of the EMVCo device-information specification, here plausible values of
//! an Android phone), `DPNA` (parameters not available, with why) and `SW` (security
//! warnings).

use serde_json::{Value, json};

/// The device the mock SDK claims to run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfile {
    pub platform: String,
    pub model: String,
    pub os_name: String,
    pub os_version: String,
    pub locale: String,
    pub time_zone: String,
    pub screen: String,
    /// Security warnings (`SW01` jailbroken/rooted, `SW02` tampered, `SW03` emulator,
    /// `SW04` debugger attached, `SW05` OS not supported).
    pub warnings: Vec<String>,
}

impl Default for DeviceProfile {
    fn default() -> DeviceProfile {
        DeviceProfile {
            platform: "Android".into(),
            model: "Pixel 8||Google".into(),
            os_name: "Android 14 UPSIDE_DOWN_CAKE 34".into(),
            os_version: "14".into(),
            locale: "en-GB".into(),
            time_zone: "Europe/Amsterdam".into(),
            screen: "1080x2400".into(),
            warnings: Vec::new(),
        }
    }
}

impl DeviceProfile {
    /// The device information JSON the SDK encrypts to the DS.
    pub fn device_info(&self) -> Value {
        json!({
            "DV": "1.7",
            "DD": {
                "C001": self.platform,
                "C002": self.model,
                "C003": self.os_name,
                "C004": self.os_version,
                "C005": self.locale,
                "C006": self.time_zone,
                "C008": self.screen,
                "C009": "Sandbox SDK Device",
                "C010": "192.0.2.10",
                "C011": "10.0.2.16",
            },
            "DPNA": {
                "C007": "RE02",
                "C012": "RE03",
                "C013": "RE03",
            },
            "SW": self.warnings,
        })
    }
}
