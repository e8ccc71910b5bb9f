//! [`AuditStore`] cases: records round-trip exactly (so their hashes still
//! verify), an append must follow the stored head (two writers cannot fork
//! the chain), the list filters and pages, checkpoints are one per record,
//! and pruning goes only through a signed checkpoint, which then becomes
//! the head.

use warden_audit::{Anchor, AuditEntry, AuditRecord, AuditSigner, Chain, Verifier};
use warden_core::Timestamp;
use warden_store::{AuditQuery, AuditStore, StoreError};

use super::data::T0;
use super::Fixture;

fn entries(chain: &mut Chain, n: u64) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| {
            let user = if i % 2 == 0 {
                "alice@acme.test"
            } else {
                "bob@acme.test"
            };
            let kind = if i % 3 == 0 {
                "account.locked"
            } else {
                "login.recorded"
            };
            let mut e = AuditEntry::new(Timestamp(T0 + i as i64), kind, "admin")
                .unwrap()
                .user(user)
                .ip(format!("203.0.113.{}", i % 4))
                .detail("reason", "new_country")
                .detail("note", "转发规则 \"x\"");
            if i == 5 {
                e = e.incident(7).subject("incident:7");
            }
            chain.append(e)
        })
        .collect()
}

pub async fn audit_records_round_trip_and_verify<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    assert_eq!(db.audit_head().await.unwrap(), None);
    let mut chain = Chain::default();
    let records = entries(&mut chain, 12);
    db.append_audit(&records[..5]).await.unwrap();
    db.append_audit(&records[5..]).await.unwrap();
    assert_eq!(db.audit_head().await.unwrap(), Some((12, chain.head)));
    let back = db.audit_from(1, 100).await.unwrap();
    assert_eq!(back, records);
    let signer = AuditSigner::from_seed(&[5; 32]).unwrap();
    let cp = signer.sign(12, chain.head, Timestamp(T0 + 100));
    db.add_checkpoint(&cp).await.unwrap();
    let mut v = Verifier::new(
        &signer.public_key(),
        Anchor::GENESIS,
        db.checkpoints(0, 12).await.unwrap(),
        true,
    )
    .unwrap();
    for r in &back {
        v.push(r).unwrap();
    }
    assert_eq!(v.finish().unwrap().last_signed, Some(12));
    assert_eq!(db.audit_from(11, 100).await.unwrap().len(), 2);
    assert_eq!(db.audit_from(1, 3).await.unwrap().len(), 3);
}

pub async fn an_audit_append_must_follow_the_head<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let mut chain = Chain::default();
    let records = entries(&mut chain, 4);
    // Not starting at 1.
    let err = db.append_audit(&records[1..]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    db.append_audit(&records[..2]).await.unwrap();
    // A second writer with its own idea of the head: a fork is refused and
    // nothing of it is written.
    let mut fork = Chain::after(2, records[0].hash);
    let forked = fork.append(AuditEntry::new(Timestamp(T0), "x", "mallory").unwrap());
    let forked = AuditRecord { seq: 3, ..forked };
    assert!(matches!(
        db.append_audit(&[forked, records[3].clone()]).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(db.audit_head().await.unwrap(), Some((2, records[1].hash)));
    db.append_audit(&records[2..]).await.unwrap();
    assert_eq!(db.audit_from(1, 10).await.unwrap(), records);
}

pub async fn audit_lists_filter_and_page_newest_first<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let mut chain = Chain::default();
    let records = entries(&mut chain, 12);
    db.append_audit(&records).await.unwrap();
    let list = |q: AuditQuery| {
        let db = &db;
        async move {
            db.list_audit(&AuditQuery { limit: 100, ..q })
                .await
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(AuditQuery::default()).await,
        (1..=12).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        list(AuditQuery {
            user: Some("alice@acme.test".into()),
            ..Default::default()
        })
        .await,
        vec![11, 9, 7, 5, 3, 1]
    );
    assert_eq!(
        list(AuditQuery {
            ip: Some("203.0.113.1".into()),
            ..Default::default()
        })
        .await,
        vec![10, 6, 2]
    );
    assert_eq!(
        list(AuditQuery {
            kind: Some("account.locked".into()),
            ..Default::default()
        })
        .await,
        vec![10, 7, 4, 1]
    );
    assert_eq!(
        list(AuditQuery {
            kind: Some("account.".into()),
            ..Default::default()
        })
        .await,
        vec![10, 7, 4, 1]
    );
    assert_eq!(
        list(AuditQuery {
            kind: Some("account".into()),
            ..Default::default()
        })
        .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        list(AuditQuery {
            incident: Some(7),
            ..Default::default()
        })
        .await,
        vec![6]
    );
    assert_eq!(
        list(AuditQuery {
            actor: Some("nobody".into()),
            ..Default::default()
        })
        .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        list(AuditQuery {
            from: Some(Timestamp(T0 + 3)),
            to: Some(Timestamp(T0 + 6)),
            ..Default::default()
        })
        .await,
        vec![6, 5, 4]
    );
    let page = db
        .list_audit(&AuditQuery {
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 5);
    let next = list(AuditQuery {
        before_seq: Some(page[4].seq),
        ..Default::default()
    })
    .await;
    assert_eq!(next, (1..=7).rev().collect::<Vec<_>>());
    assert_eq!(
        db.last_audit_before(Timestamp(T0 + 4)).await.unwrap(),
        Some(4)
    );
    assert_eq!(db.last_audit_before(Timestamp(T0)).await.unwrap(), None);
}

pub async fn audit_pruning_goes_through_a_checkpoint_which_stays_the_head<F: Fixture>(f: &F) {
    let db = f.fresh().await;
    let signer = AuditSigner::from_seed(&[5; 32]).unwrap();
    let mut chain = Chain::default();
    let records = entries(&mut chain, 6);
    db.append_audit(&records).await.unwrap();
    let cp3 = signer.sign(3, records[2].hash, Timestamp(T0 + 50));
    db.add_checkpoint(&cp3).await.unwrap();
    assert!(matches!(
        db.add_checkpoint(&cp3).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        db.prune_audit(4).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(db.audit_first().await.unwrap(), Some(1));
    assert_eq!(db.prune_audit(3).await.unwrap(), 3);
    assert_eq!(db.audit_first().await.unwrap(), Some(4));
    assert_eq!(db.checkpoint_from(1).await.unwrap(), Some(cp3.clone()));
    assert_eq!(db.checkpoint_from(4).await.unwrap(), None);
    let cp6 = signer.sign(6, chain.head, Timestamp(T0 + 60));
    db.add_checkpoint(&cp6).await.unwrap();
    assert_eq!(db.latest_checkpoint().await.unwrap(), Some(cp6.clone()));
    assert_eq!(db.checkpoints(0, 100).await.unwrap(), vec![cp3, cp6]);
    // Everything pruned: the last checkpoint is the head the next record
    // chains from.
    assert_eq!(db.prune_audit(6).await.unwrap(), 3);
    assert_eq!(db.audit_first().await.unwrap(), None);
    assert_eq!(db.audit_head().await.unwrap(), Some((6, chain.head)));
    let next = entries(&mut chain, 1);
    db.append_audit(&next).await.unwrap();
    assert_eq!(db.audit_from(0, 10).await.unwrap(), next);
}
