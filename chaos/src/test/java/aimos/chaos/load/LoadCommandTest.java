package aimos.chaos.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoadCommandTest {
  private static LoadCommand.Settings settings(String... args) {
    return LoadCommand.Settings.of(LoadCommand.parse(args));
  }

  @Test
  void readsTenantsSweepAndDurations() {
    var s = settings("--tenants", "100", "--sweep", "--duration", "30s", "--warmup", "2s");
    assertEquals(100, s.tenants());
    assertArrayEquals(new int[] {1, 8, 64, 256}, s.concurrencies());
    assertEquals(Duration.ofSeconds(30), s.duration());
    assertEquals(Duration.ofSeconds(2), s.warmup());
    var plain = settings();
    assertEquals(1, plain.tenants());
    assertArrayEquals(new int[] {64}, plain.concurrencies());
  }

  @Test
  void refusesWhatItCannotRunWithTheReason() {
    for (String[] bad : new String[][] {{"--tenants", "0"}, {"--tenants", "1001"}, {"--tenants", "many"},
        {"--concurrency", "0"}, {"--sweep", "--concurrency", "8"}, {"--duration", "soon"}}) {
      var e = assertThrows(IllegalArgumentException.class, () -> settings(bad), String.join(" ", bad));
      assertTrue(e.getMessage().contains("--") || e.getMessage().contains("duration"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> LoadCommand.parse(new String[] {"--tenants"}));
  }

  @Test
  void aSweepRowComparesTheMeteredPathWithTheEcho() {
    var metered = LoadResult.of("m", 0, Map.of(), 2.0, aimos.chaos.stats.Latencies.of(4_000_000, 6_000_000));
    var echo = LoadResult.of("e", 0, Map.of(), 2.0,
        aimos.chaos.stats.Latencies.of(1_000_000, 1_000_000, 1_000_000, 1_000_000));
    var overhead = aimos.chaos.stats.Latencies.of(300_000, 500_000, 700_000, 2_000_000);
    String row = LoadCommand.SweepRow.of(64, metered, echo, overhead);
    // in flight, metered/s, p50, p95, p99, echo/s, echo p50, ratio, p50 added, overhead p50 and p99
    assertTrue(row.matches("\\s+64\\s+1\\.0\\s+4\\.00\\s+6\\.00\\s+6\\.00\\s+2\\.0\\s+1\\.00\\s+0\\.500"
        + "\\s+3\\.00\\s+0\\.50\\s+2\\.00"), row);
  }

  @Test
  void theOverheadComesFromTheTrailerAndAMalformedOneIsIgnored() {
    var good = new org.apache.pekko.grpc.javadsl.MetadataBuilder().addText("aimos-overhead-ms", "1.250").build();
    assertEquals(java.util.Optional.of(1.25), LoadCommand.overheadMillis(good));
    var bad = new org.apache.pekko.grpc.javadsl.MetadataBuilder().addText("aimos-overhead-ms", "soon").build();
    assertEquals(java.util.Optional.empty(), LoadCommand.overheadMillis(bad));
    assertTrue(LoadCommand.overheadLine(new aimos.chaos.stats.Latencies()).contains("not reported"));
  }

  @Test
  void refusesUnknownOptions() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LoadCommand.parse(new String[] {"--concurency", "8"}));
    assertTrue(e.getMessage().contains("--concurency"), e.getMessage());
    assertEquals("8", LoadCommand.parse(new String[] {"--concurrency", "8"}).get("concurrency"));
  }
}
