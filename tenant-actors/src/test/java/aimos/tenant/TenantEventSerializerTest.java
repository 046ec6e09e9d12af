package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.api.v1.BillingUnit;
import java.io.NotSerializableException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * Events stay readable across versions: these bytes were written by schema v1 and must decode the same way forever.
 * A change that breaks one of them breaks every journal already written.
 */
class TenantEventSerializerTest {
  private final TenantEventSerializer serializer = new TenantEventSerializer();

  private Object decode(String manifest, String base64) throws NotSerializableException {
    return serializer.fromBinary(Base64.getDecoder().decode(base64), manifest);
  }

  @Test
  void decodesBytesWrittenBySchemaV1() throws Exception {
    assertEquals(new TenantEntity.TenantCreated("acme", "Acme Corp", new Plan(600, 100000, 100000000, 8), 1764000000000L),
        decode("TenantCreated.v1", "CgRhY21lEglBY21lIENvcnAaDgjYBBCgjQYYgMLXLyAIIIDQ37SrMw=="));
    assertEquals(new TenantEntity.PlanChanged(new Plan(1200, 200000, 250000000, 16)),
        decode("PlanChanged.v1", "Cg4IsAkQwJoMGIDlmncgEA=="));
    var issued = (TenantEntity.ApiKeyIssued) decode("ApiKeyIssued.v1",
        "ChBrZXktMGExYjJjM2Q0ZTVmEhABAgMEBQYHCAkKCwwNDg8QGgQqKioqIOjX37SrMw==");
    assertEquals("key-0a1b2c3d4e5f", issued.keyId());
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, issued.salt());
    assertArrayEquals(new byte[] {42, 42, 42, 42}, issued.hash());
    assertEquals(1764000001000L, issued.issuedAtMillis());
    assertEquals(new TenantEntity.ApiKeyRevoked("key-0a1b2c3d4e5f", 1764000002000L),
        decode("ApiKeyRevoked.v1", "ChBrZXktMGExYjJjM2Q0ZTVmENDf37SrMw=="));
    assertEquals(new TenantEntity.UsageRecorded("acme", "req-1", "demo-text", "v1", BillingUnit.TOKENS, 20000,
            Units.tokens(7, 5), 999995, 234, 1500, 1764000003000L, "2026-11"),
        decode("UsageRecorded.v1",
            "CgRhY21lEgVyZXEtMRoJZGVtby10ZXh0IgJ2MSoGVE9LRU5TMKCcATgHQAVYu4Q9YNwLaLjn37SrM3IHMjAyNi0xMXjqAQ=="));
  }

  @Test
  void aPlanWrittenBeforeWorkerLeaseQuotasGetsItsConcurrencyAsQuota() throws Exception {
    var created = (TenantEntity.TenantCreated) decode("TenantCreated.v1",
        "CgRhY21lEglBY21lIENvcnAaDgjYBBCgjQYYgMLXLyAIIIDQ37SrMw==");
    assertEquals(8, created.plan().maxWorkerLeases());
    var withQuota = new TenantEntity.PlanChanged(new Plan(1, 2, 3, 8, 2));
    assertEquals(withQuota, serializer.fromBinary(serializer.toBinary(withQuota), serializer.manifest(withQuota)));
  }

  @Test
  void roundTripsEveryEvent() throws Exception {
    var usage = new TenantEntity.UsageRecorded("t", "r", "m", "v", BillingUnit.IMAGES, 10000,
        new Units(0, 0, 3, 0), 0, 30000, 9, 1, "2026-12", "0123456789abcdef0123456789abcdef");
    assertEquals(usage, serializer.fromBinary(serializer.toBinary(usage), serializer.manifest(usage)));
    for (Object e : java.util.List.of(new aimos.tenant.directory.TenantDirectory.TenantListed("acme"),
        new aimos.tenant.directory.TenantDirectory.DirectorySeeded())) {
      assertEquals(e, serializer.fromBinary(serializer.toBinary(e), serializer.manifest(e)));
    }
  }

  @Test
  void decodesCommittedBytesOfUsageWithItsInputFingerprintAndOfTheTenantDirectory() throws Exception {
    assertEquals(new TenantEntity.UsageRecorded("acme", "req-2", "demo-text", "v1", BillingUnit.TOKENS, 20000,
            Units.tokens(7, 5), 12, 240, 1500, 1764000004000L, "2026-12", "9f86d081884c7d659a2feaa0c55ad015"),
        decode("UsageRecorded.v1", "CgRhY21lEgVyZXEtMhoJZGVtby10ZXh0IgJ2MSoGVE9LRU5TMKCcATgHQAVYDGDcC2ig79+0qzNyBzIw"
            + "MjYtMTJ48AGCASA5Zjg2ZDA4MTg4NGM3ZDY1OWEyZmVhYTBjNTVhZDAxNQ=="));
    assertEquals(new aimos.tenant.directory.TenantDirectory.TenantListed("acme"),
        decode("TenantDirectoryEntryAdded.v1", "CgRhY21l"));
    assertEquals(new aimos.tenant.directory.TenantDirectory.DirectorySeeded(),
        decode("TenantDirectorySeeded.v1", ""));
  }

  @Test
  void decodesCommittedBytesOfUsageWithThePriceListThatPricedIt() throws Exception {
    // written with price_list_id (field 17): list 2 priced it, at the model's price in that list
    assertEquals(new TenantEntity.UsageRecorded("acme", "req-3", "demo-text", "v1", BillingUnit.TOKENS, 50000,
            Units.tokens(7, 5), 12, 600, 1500, 1797292800000L, "2026-12", "9f86d081884c7d659a2feaa0c55ad015", 2),
        decode("UsageRecorded.v1", "CgRhY21lEgVyZXEtMxoJZGVtby10ZXh0IgJ2MSoGVE9LRU5TMNCGAzgHQAVYDGDcC2iA8P63pzRyBzIw"
            + "MjYtMTJ42ASCASA5Zjg2ZDA4MTg4NGM3ZDY1OWEyZmVhYTBjNTVhZDAxNYgBAg=="));
    var usage = new TenantEntity.UsageRecorded("t", "r", "m", "v", BillingUnit.TOKENS, 50000, Units.tokens(1, 2), 3,
        150, 9, 1, "2026-12", "", 7);
    assertEquals(usage, serializer.fromBinary(serializer.toBinary(usage), serializer.manifest(usage)));
  }

  @Test
  void usageWrittenBeforePriceListsNamesNone() throws Exception {
    var old = (TenantEntity.UsageRecorded) decode("UsageRecorded.v1",
        "CgRhY21lEgVyZXEtMRoJZGVtby10ZXh0IgJ2MSoGVE9LRU5TMKCcATgHQAVYu4Q9YNwLaLjn37SrM3IHMjAyNi0xMXjqAQ==");
    assertEquals(0, old.priceListId());
    assertEquals(234, old.chargeMicros());
  }

  @Test
  void usageWrittenBeforeFingerprintsHasNoneAndMatchesAnyRetry() throws Exception {
    var old = (TenantEntity.UsageRecorded) decode("UsageRecorded.v1",
        "CgRhY21lEgVyZXEtMRoJZGVtby10ZXh0IgJ2MSoGVE9LRU5TMKCcATgHQAVYu4Q9YNwLaLjn37SrM3IHMjAyNi0xMXjqAQ==");
    assertEquals("", old.inputFingerprint());
    assertTrue(new TenantEntity.Recorded("req-1", "demo-text", "v1", old.units(), 234, true, "").sameInput("any"));
  }

  @Test
  void decodesCommittedBytesOfBudgetAlertEvents() throws Exception {
    var crossed = new TenantEntity.BudgetThresholdCrossed("acme", "2026-12", 80, 100_000_000, 80_000_120,
        1764000005000L, "req-9");
    String crossedBytes = "CgRhY21lEgcyMDI2LTEyGFAggMLXLyj46JImMIj337SrMzoFcmVxLTk=";
    assertEquals(crossed, decode("BudgetThresholdCrossed.v1", crossedBytes));
    assertEquals("BudgetThresholdCrossed.v1", serializer.manifest(crossed));
    assertEquals(crossedBytes, Base64.getEncoder().encodeToString(serializer.toBinary(crossed)));
    var set = new TenantEntity.BudgetAlertsSet(java.util.List.of(25, 50, 75, 90, 100));
    assertEquals(set, decode("BudgetAlertsSet.v1", "CgUZMktaZA=="));
    assertEquals("BudgetAlertsSet.v1", serializer.manifest(set));
    assertEquals(new TenantEntity.BudgetAlertsSet(java.util.List.of()), decode("BudgetAlertsSet.v1", ""));
  }

  @Test
  void decodesCommittedBytesOfSuspensionEvents() throws Exception {
    var suspended = new TenantEntity.TenantSuspended("unpaid invoice", 1764000006000L);
    String suspendedBytes = "Cg51bnBhaWQgaW52b2ljZRDw/t+0qzM=";
    assertEquals(suspended, decode("TenantSuspended.v1", suspendedBytes));
    assertEquals("TenantSuspended.v1", serializer.manifest(suspended));
    assertEquals(suspendedBytes, Base64.getEncoder().encodeToString(serializer.toBinary(suspended)));
    assertEquals(new TenantEntity.TenantSuspended("", 0), decode("TenantSuspended.v1", ""));
    var resumed = new TenantEntity.TenantResumed(1764000007000L);
    assertEquals(resumed, decode("TenantResumed.v1", "CNiG4LSrMw=="));
    assertEquals("TenantResumed.v1", serializer.manifest(resumed));
    assertEquals("CNiG4LSrMw==", Base64.getEncoder().encodeToString(serializer.toBinary(resumed)));
  }

  @Test
  void refusesUnknownManifestsAndCorruptBytes() {
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[0], "TenantDeleted.v9"));
    assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(new byte[] {(byte) 0xff, (byte) 0xff, 0x01}, "UsageRecorded.v1"));
  }
}
