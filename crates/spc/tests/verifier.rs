//! The verifier against real-shaped SPC assertions from the software authenticator (the
//! same shapes a real Chromium gives; the browser tests feed it Chromium's own).

#![allow(clippy::unwrap_used, reason = "test helpers")]

use serde_json::{Value, json};
use spc::software::{PaymentRequest, SoftwareAuthenticator};
use spc::verify::verify_registration;
use spc::{Assertion, Credential, Failure, Issued, RegistrationExpected};

const RP: &str = "acs.localhost";
const SHOP: &str = "https://localhost:7445";

fn issued(credential: &Credential) -> Issued {
    Issued {
        rp_id: RP.into(),
        challenge: spc::fresh_challenge(),
        credential_ids: vec![credential.id.clone()],
        payee_name: Some("Sandbox Coffee Roasters".into()),
        payee_origin: Some(SHOP.into()),
        display_name: "Sandbox Bank card •••• 3005".into(),
        icon: "data:image/png;base64,iVBORw0KGgo=".into(),
        value: "49.90".into(),
        currency: "EUR".into(),
        timeout_ms: 60_000,
        origins: vec![SHOP.into()],
        top_origins: vec![SHOP.into()],
        used: false,
    }
}

/// A registered authenticator, its stored credential, and an offer for it.
fn enrolled() -> (SoftwareAuthenticator, Credential, Issued) {
    let mut authenticator = SoftwareAuthenticator::es256(RP);
    let expected = RegistrationExpected {
        rp_id: RP.into(),
        challenge: spc::fresh_challenge(),
        origin: "https://acs.localhost:7444".into(),
    };
    let registration = authenticator.register(&expected.challenge, &expected.origin);
    let credential = verify_registration(&registration, &expected).unwrap();
    let offer = issued(&credential);
    (authenticator, credential, offer)
}

fn request(offer: &Issued) -> PaymentRequest {
    PaymentRequest::from_issued(offer, SHOP, SHOP)
}

fn check(assertion: &Value, offer: &Issued, credential: &Credential) -> Result<u32, Failure> {
    Assertion::parse(assertion)?
        .verify(offer, credential)
        .map(|v| v.sign_count)
}

#[test]
fn a_valid_es256_assertion_verifies_and_moves_the_counter_on() {
    let (mut authenticator, credential, offer) = enrolled();
    assert_eq!(credential.sign_count, 1, "registration counted once");
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(check(&assertion, &offer, &credential), Ok(2));
    // Sent as a JSON string (threeDSReqAuthData) it reads the same.
    let as_text = Value::String(assertion.to_string());
    assert_eq!(check(&as_text, &offer, &credential), Ok(2));
}

#[test]
fn a_valid_rs256_assertion_verifies() {
    let mut authenticator = SoftwareAuthenticator::rs256(RP).unwrap();
    let expected = RegistrationExpected {
        rp_id: RP.into(),
        challenge: spc::fresh_challenge(),
        origin: "https://acs.localhost:7444".into(),
    };
    let credential = verify_registration(
        &authenticator.register(&expected.challenge, &expected.origin),
        &expected,
    )
    .unwrap();
    assert_eq!(credential.algorithm, spc::Algorithm::Rs256);
    let offer = issued(&credential);
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(check(&assertion, &offer, &credential), Ok(2));
}

#[test]
fn another_challenge_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let mut other = request(&offer);
    other.challenge = spc::fresh_challenge();
    let assertion = authenticator.confirm(&other).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::WrongChallenge)
    );
}

#[test]
fn a_used_challenge_is_refused() {
    let (mut authenticator, credential, mut offer) = enrolled();
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert!(check(&assertion, &offer, &credential).is_ok());
    offer.used = true;
    let again = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(
        check(&again, &offer, &credential),
        Err(Failure::ChallengeAlreadyUsed)
    );
}

#[test]
fn a_changed_amount_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let mut cheaper = request(&offer);
    cheaper.value = "4.99".into();
    let assertion = authenticator.confirm(&cheaper).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::AmountChanged {
            found: "4.99 EUR".into(),
            issued: "49.90 EUR".into()
        })
    );
    let mut dollars = request(&offer);
    dollars.currency = "USD".into();
    let assertion = authenticator.confirm(&dollars).unwrap();
    assert!(matches!(
        check(&assertion, &offer, &credential),
        Err(Failure::AmountChanged { .. })
    ));
}

#[test]
fn another_payee_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let mut elsewhere = request(&offer);
    elsewhere.payee_origin = Some("https://evil.example".into());
    let assertion = authenticator.confirm(&elsewhere).unwrap();
    assert!(matches!(
        check(&assertion, &offer, &credential),
        Err(Failure::PayeeChanged { .. })
    ));
    let mut renamed = request(&offer);
    renamed.payee_name = Some("Someone Else".into());
    let assertion = authenticator.confirm(&renamed).unwrap();
    assert!(matches!(
        check(&assertion, &offer, &credential),
        Err(Failure::PayeeChanged { .. })
    ));
}

#[test]
fn another_instrument_top_origin_or_caller_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let mut icon = request(&offer);
    icon.display_name = "Another card".into();
    let assertion = authenticator.confirm(&icon).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::InstrumentChanged)
    );
    let framed = PaymentRequest::from_issued(&offer, SHOP, "https://evil.example");
    let assertion = authenticator.confirm(&framed).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::WrongTopOrigin("https://evil.example".into()))
    );
    let caller = PaymentRequest::from_issued(&offer, "https://evil.example", SHOP);
    let assertion = authenticator.confirm(&caller).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::WrongOrigin("https://evil.example".into()))
    );
}

#[test]
fn another_relying_party_hash_is_refused() {
    // The same key, answering as if registered for another RP id.
    let (_, _, offer) = enrolled();
    let mut elsewhere = SoftwareAuthenticator::test_key("other.localhost", "4000000000014003");
    let stored = elsewhere.credential();
    let mut offered = offer;
    offered.credential_ids = vec![elsewhere.credential_id()];
    let mut other_rp = request(&offered);
    other_rp.rp_id = "other.localhost".into();
    let assertion = elsewhere.confirm(&other_rp).unwrap();
    assert_eq!(
        check(&assertion, &offered, &stored),
        Err(Failure::WrongRpIdHash(RP.into()))
    );
}

#[test]
fn missing_user_presence_or_verification_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    authenticator.flags = 0x04;
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::UserNotPresent)
    );
    authenticator.flags = 0x01;
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::UserNotVerified)
    );
}

#[test]
fn a_bad_signature_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let mut assertion = authenticator.confirm(&request(&offer)).unwrap();
    // Sign one transaction, present another's clientDataJSON.
    let other = authenticator.confirm(&request(&offer)).unwrap();
    assertion["response"]["clientDataJSON"] = other["response"]["clientDataJSON"].clone();
    let mut cdj: Value = serde_json::from_slice(
        &spc::from_b64url(assertion["response"]["clientDataJSON"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    cdj["payment"]["total"]["value"] = json!("0.01");
    assertion["response"]["clientDataJSON"] = json!(spc::b64url(cdj.to_string().as_bytes()));
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::BadSignature)
    );
    // Another key's signature over the right data.
    let mut impostor = SoftwareAuthenticator::es256(RP);
    let mut forged = offer.clone();
    forged.credential_ids = vec![impostor.credential_id()];
    let mut signed = impostor.confirm(&request(&forged)).unwrap();
    signed["id"] = json!(credential.id);
    signed["rawId"] = json!(credential.id);
    assert_eq!(
        check(&signed, &offer, &credential),
        Err(Failure::BadSignature)
    );
}

#[test]
fn a_credential_not_offered_for_the_card_is_refused() {
    let (_, credential, offer) = enrolled();
    let (mut stranger, stranger_credential, _) = enrolled();
    let mut offered_both = offer.clone();
    offered_both
        .credential_ids
        .push(stranger_credential.id.clone());
    let assertion = stranger.confirm(&request(&offered_both)).unwrap();
    // The page was tricked into offering it, but the card's credential is `credential`.
    assert_eq!(
        check(&assertion, &offer, &stranger_credential),
        Err(Failure::UnknownCredential)
    );
    assert_eq!(
        check(&assertion, &offered_both, &credential),
        Err(Failure::UnknownCredential)
    );
    // And the authenticator itself refuses a list without its credential.
    assert!(stranger.confirm(&request(&offer)).is_err());
}

#[test]
fn a_counter_going_backwards_is_refused() {
    let (mut authenticator, mut credential, offer) = enrolled();
    credential.sign_count = 10;
    authenticator.set_sign_count(4);
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(
        check(&assertion, &offer, &credential),
        Err(Failure::SignCountWentBack {
            stored: 10,
            found: 5
        })
    );
    // An authenticator without a counter (always 0) is accepted.
    credential.sign_count = 0;
    authenticator.set_sign_count(u32::MAX);
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(check(&assertion, &offer, &credential), Ok(0));
}

#[test]
fn extra_keys_in_client_data_are_accepted() {
    let (mut authenticator, credential, offer) = enrolled();
    authenticator.extra_client_data_key = true;
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    assert_eq!(check(&assertion, &offer, &credential), Ok(2));
}

#[test]
fn a_webauthn_get_or_a_malformed_assertion_is_refused() {
    let (mut authenticator, credential, offer) = enrolled();
    let assertion = authenticator.confirm(&request(&offer)).unwrap();
    let mut no_signature = assertion;
    no_signature["response"]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    assert!(matches!(
        check(&no_signature, &offer, &credential),
        Err(Failure::Malformed {
            field: "signature",
            ..
        })
    ));
    assert!(matches!(
        check(&json!("not json"), &offer, &credential),
        Err(Failure::Malformed { .. })
    ));
}

#[test]
fn registrations_are_checked() {
    let mut authenticator = SoftwareAuthenticator::es256(RP);
    let expected = RegistrationExpected {
        rp_id: RP.into(),
        challenge: spc::fresh_challenge(),
        origin: "https://acs.localhost:7444".into(),
    };
    let wrong_challenge = authenticator.register(&spc::fresh_challenge(), &expected.origin);
    assert_eq!(
        verify_registration(&wrong_challenge, &expected),
        Err(Failure::WrongChallenge)
    );
    let wrong_origin = authenticator.register(&expected.challenge, "https://evil.example");
    assert!(matches!(
        verify_registration(&wrong_origin, &expected),
        Err(Failure::WrongOrigin(_))
    ));
    let mut swapped = authenticator.register(&expected.challenge, &expected.origin);
    swapped["rawId"] = json!(spc::b64url(b"another id"));
    assert_eq!(
        verify_registration(&swapped, &expected),
        Err(Failure::CredentialIdMismatch)
    );
    let good = authenticator.register(&expected.challenge, &expected.origin);
    let credential = verify_registration(&good, &expected).unwrap();
    assert_eq!(credential.id, authenticator.credential_id());
    assert_eq!(credential.public_key, authenticator.credential().public_key);
}

#[test]
fn the_shipped_test_key_is_stable() {
    let a = SoftwareAuthenticator::test_key(RP, "4000000000014003").credential();
    let b = SoftwareAuthenticator::test_key(RP, "4000000000014003").credential();
    assert_eq!(a, b);
    let other_card = SoftwareAuthenticator::test_key(RP, "5200000000014008").credential();
    assert_ne!(a.id, other_card.id, "a credential id belongs to one card");
    assert_eq!(a.algorithm, spc::Algorithm::Es256);
}
