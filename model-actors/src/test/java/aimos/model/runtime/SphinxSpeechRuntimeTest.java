package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.AudioJob;
import aimos.internal.sandbox.AudioResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sphinx4 on real recorded speech (CMU's test recordings) and on espeak-ng speech (three formats; ten voices, speeds
 * and rates): grammar mode is exact, full-vocabulary mode gets most words of open speech, and the decoded duration is
 * what gets billed. Headers that imply more audio than allowed are refused before samples are read.
 */
class SphinxSpeechRuntimeTest {
  static final String COMMANDS = """
      #JSGF V1.0;
      grammar commands;
      public <command> = (open | close) the (door | window) | turn (on | off) the light;
      """;
  private static SphinxSpeechRuntime speech;

  @BeforeAll
  static void load() {
    speech = new SphinxSpeechRuntime();
  }

  static byte[] fixture(String name) {
    return resource("/fixtures/audio/" + name);
  }

  private static byte[] resource(String path) {
    try (InputStream in = SphinxSpeechRuntimeTest.class.getResourceAsStream(path)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static AudioResult transcribe(byte[] audio, String grammar) {
    SandboxReply.Builder reply = SandboxReply.newBuilder();
    speech.run(SandboxRequest.newBuilder().setAudio(AudioJob.newBuilder().setData(ByteString.copyFrom(audio))
        .setGrammar(grammar)).build(), reply);
    return reply.getTranscript();
  }

  @Test
  void grammarModeTranscribesRecordedSpeechExactly() {
    String cards = new String(fixture("cards.gram"), StandardCharsets.UTF_8);
    AudioResult ten = transcribe(fixture("cards-ten-of-clubs.wav"), cards);
    assertEquals("ten of clubs", ten.getText());
    assertEquals(1095, ten.getAudioMillis(), 1, "17,526 samples at 16 kHz");
    assertEquals("eight of spades four of clubs seven of hearts",
        transcribe(fixture("cards-three-cards.wav"), cards).getText());
  }

  @Test
  void readsWavAndAiffAtAnyRateMonoOrStereo() {
    for (String file : List.of("open-the-door-16k.wav", "open-the-door-44k-stereo.wav", "open-the-door-16k.aiff")) {
      AudioResult r = transcribe(fixture(file), COMMANDS);
      assertEquals("open the door", r.getText(), file);
      assertTrue(Math.abs(r.getAudioMillis() - 1447) < 30, file + ": " + r.getAudioMillis());
    }
  }

  @Test
  void fullVocabularyModeGetsMostWordsOfOpenSpeech() {
    String text = transcribe(fixture("librivox-ill-disposed.wav"), "").getText();
    List<String> reference = List.of("he", "was", "not", "an", "ill", "disposed", "young", "man");
    long heard = Arrays.stream(text.split(" ")).filter(reference::contains).count();
    assertTrue(heard >= 5, "'" + text + "' has fewer than 5 of the 8 words of 'he was not an ill disposed young man'");
  }

  @Test
  void refusesWhatItCannotDecode() {
    var notAudio = assertThrows(InvalidInputException.class, () -> transcribe(fixture("not-audio.wav"), ""));
    assertTrue(notAudio.getMessage().contains("WAV, AIFF or AU"), notAudio.getMessage());
    assertThrows(InvalidInputException.class, () -> transcribe(new byte[0], ""));
    var grammar = assertThrows(InvalidInputException.class,
        () -> transcribe(fixture("open-the-door-16k.wav"), "open | close"));
    assertTrue(grammar.getMessage().contains("JSGF"), grammar.getMessage());
  }
  @Test
  void grammarModeIsExactForAtLeastNineOfTenSyntheticVoices() {
    String home = new String(resource("/fixtures/speech/home.gram"), StandardCharsets.UTF_8);
    List<String> misses = new ArrayList<>();
    List<String> lines = new String(resource("/fixtures/speech/utterances.tsv"), StandardCharsets.UTF_8).lines()
        .toList();
    assertEquals(10, lines.size());
    for (String line : lines) {
      String[] f = line.split("\t");
      String heard = transcribe(resource("/fixtures/speech/" + f[0]), home).getText();
      if (!heard.equals(f[5])) {
        misses.add(f[0] + " (" + f[1] + ", " + f[2] + " wpm, " + f[4] + " Hz): '" + heard + "'");
      }
    }
    assertTrue(misses.size() <= 1, "not exact: " + misses);
  }

  @Test
  void unrecognisedSpeechIsNoWords() {
    String home = new String(resource("/fixtures/speech/home.gram"), StandardCharsets.UTF_8);
    // the decoder's out-of-grammar branch wins ("<unk>"): no words, rather than a command no one gave
    assertEquals("", transcribe(resource("/fixtures/speech/out-of-grammar-lovely-morning.wav"), home).getText());
    assertEquals("open the door", SphinxSpeechRuntime.words(" <sil> open <unk> the [NOISE] ++BREATH++ door </s> "));
    assertEquals("", SphinxSpeechRuntime.words("<unk>"));
  }

  @Test
  void aGrammarsFilesAreDeletedOnceItIsLoaded() throws IOException {
    String marker = "deleted" + UUID.randomUUID().toString().replace("-", "");
    String grammar = COMMANDS.replace("grammar commands;", "grammar " + marker + ";");
    assertEquals("open the door", transcribe(fixture("open-the-door-16k.wav"), grammar).getText());
    assertEquals("open the door", transcribe(fixture("open-the-door-16k.wav"), grammar).getText(), "loaded once");
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    try (Stream<Path> left = Files.walk(tmp, 2)) {
      Set<Path> grammarFiles = left.filter(p -> p.getFileName().toString().equals(marker + ".gram"))
          .collect(Collectors.toSet());
      assertEquals(Set.of(), grammarFiles);
    }
  }

  /** An AU file's header: 16-bit big-endian PCM at {@code rate} Hz; {@code dataBytes} -1 says "length unknown". */
  private static byte[] au(int rate, int channels, int dataBytes, int samplesBytes) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(0x2e736e64);
      out.writeInt(24);
      out.writeInt(dataBytes);
      out.writeInt(3);
      out.writeInt(rate);
      out.writeInt(channels);
      out.write(new byte[samplesBytes]);
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void absurdHeadersAreRefusedBeforeAnySampleIsRead() {
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      // length unknown, 1 sample a second: 8 KB would be 4,096 s, 16,000 times as many samples once resampled
      var slow = assertThrows(InvalidInputException.class, () -> SphinxSpeechRuntime.decode(au(1, 1, -1, 8192)));
      assertTrue(slow.getMessage().contains("8000 to 96000 Hz"), slow.getMessage());
      var fast = assertThrows(InvalidInputException.class,
          () -> SphinxSpeechRuntime.decode(au(2_000_000_000, 1, -1, 8192)));
      assertTrue(fast.getMessage().contains("8000 to 96000 Hz"), fast.getMessage());
      var channels = assertThrows(InvalidInputException.class,
          () -> SphinxSpeechRuntime.decode(au(16_000, 1000, -1, 8000)));
      assertTrue(channels.getMessage().contains("the limit is 8"), channels.getMessage());
      // a header that says 10 hours, with one second of samples
      var declared = assertThrows(InvalidInputException.class,
          () -> SphinxSpeechRuntime.decode(au(8_000, 1, 10 * 3600 * 8000 * 2, 16_000)));
      assertTrue(declared.getMessage().contains("36000 s; the limit is 300 s"), declared.getMessage());
    });
  }

  @Test
  void audioOfUnknownLengthIsBoundedByItsBytes() {
    // 5 min and 1 s at 8 kHz with no length in the header: only the samples read say it is too long
    byte[] tooLong = au(8_000, 1, -1, (300 * 8000 + 8000) * 2);
    var refused = assertThrows(InvalidInputException.class, () -> SphinxSpeechRuntime.decode(tooLong));
    assertTrue(refused.getMessage().contains("the limit is 300 s"), refused.getMessage());
    // within the limit, the samples read give the duration
    assertEquals(2000, SphinxSpeechRuntime.decode(au(8_000, 1, -1, 2 * 8000 * 2)).millis());
  }
}
