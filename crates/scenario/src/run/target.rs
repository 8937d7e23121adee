//! Where the scenarios run ([`Target`]: a sandbox by its manifest, with the clients a
//! requestor, a browser, an SDK and the admin use) and its virtual clock.

use sdk::ThreeDs2Service;

/// Where the scenarios run: a sandbox, as its manifest describes it.
#[derive(Debug)]
pub struct Target {
    pub requestor_api: String,
    pub acs_site: String,
    /// The shop's origin (the top-level page an SPC dialog is shown for).
    pub merchant: String,
    pub(super) requestor: transport::Client,
    pub(super) browser: transport::Client,
    pub(super) sdk: ThreeDs2Service,
    pub(super) admin: sandbox::admin::AdminClient,
    /// The runner's own sandbox, whose challenge timers are short or on virtual time:
    /// scenarios that wait for a timer can run.
    pub reaches_timers: bool,
    /// The runner's own sandbox on a virtual clock (deterministic mode): a result
    /// that waits for a timer moves the clock straight to it.
    pub(super) virtual_time: Option<VirtualTime>,
    /// Faults on the hops this runner sends on itself (`sdk->acs` from its SDK,
    /// `merchant->3ds-server` from its requestor client), applied by its own clients.
    pub(super) own_faults: transport::faults::Faults,
    /// Held from reading a test credential's counter to the ACS's check of the
    /// assertion made with it: scenarios in parallel on one card must not sign with the
    /// same counter (the ACS refuses a counter that does not grow).
    pub(super) spc: tokio::sync::Mutex<()>,
}

/// A sandbox's virtual clock, and where its timers can be read (the runner's own
/// sandbox, in process).
#[derive(Debug, Clone)]
pub struct VirtualTime {
    pub clock: transport::clock::ManualClock,
    pub store: store::Store,
}

impl VirtualTime {
    /// Moves the clock to the next timer, if one is ahead of it (one behind it is due
    /// already: the ACS's sweep is about to act on it).
    pub(super) async fn to_next_timer(&self) {
        if let Ok(Some(due)) = acs::next_timer(&self.store).await
            && due > transport::clock::Clock::now_ms(&self.clock)
        {
            self.clock.advance_to(due);
        }
    }
}

impl Target {
    /// Clients for the sandbox `manifest` describes.
    pub fn new(manifest: &sandbox::Manifest) -> Result<Target, String> {
        Target::build(manifest, manifest.sdk_config()?)
    }

    /// Clients for the runner's own sandbox in deterministic mode: the SDK draws its ids
    /// from `ids`, and results that wait for a timer move `time` to it.
    pub fn on_virtual_time(
        manifest: &sandbox::Manifest,
        ids: &transport::Ids,
        time: VirtualTime,
    ) -> Result<Target, String> {
        let mut sdk = manifest.sdk_config()?;
        sdk.ids = ids.stream("sdk");
        sdk.sdk_app_id = ids.stream("sdk-app").trans_id().as_str().to_owned();
        let mut target = Target::build(manifest, sdk)?;
        target.virtual_time = Some(time);
        Ok(target)
    }

    fn build(manifest: &sandbox::Manifest, sdk: sdk::ConfigParameters) -> Result<Target, String> {
        let root = &manifest.tls.root_ca;
        let own_faults = transport::faults::Faults::default();
        let requestor = manifest
            .requestor_client()?
            .with_faults(own_faults.clone(), trace::Party::Merchant);
        let tls = pki::tls::client_config(root, None).map_err(|e| e.to_string())?;
        let browser = transport::Client::new(&tls, transport::Timeouts::default())
            .map_err(|e| e.to_string())?;
        let sdk = ThreeDs2Service::initialize(sdk)
            .map_err(|e| e.to_string())?
            .with_faults(own_faults.clone());
        let admin = sandbox::admin::AdminClient::of(manifest).map_err(|e| e.to_string())?;
        Ok(Target {
            requestor_api: manifest.endpoints.requestor_api.clone(),
            acs_site: manifest.endpoints.acs_site.clone(),
            merchant: manifest.endpoints.merchant.trim_end_matches('/').to_owned(),
            requestor,
            browser,
            sdk,
            admin,
            reaches_timers: false,
            virtual_time: None,
            own_faults,
            spc: tokio::sync::Mutex::new(()),
        })
    }
}
