package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.AudioJob;
import aimos.internal.sandbox.AudioResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sphinx4 on real recorded speech (CMU's test recordings) and on espeak-ng speech in three formats: grammar mode is
 * exact, full-vocabulary mode gets most words of open speech, and the decoded duration is what gets billed.
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
    try (InputStream in = SphinxSpeechRuntimeTest.class.getResourceAsStream("/fixtures/audio/" + name)) {
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
    var notAudio = assertThrows(IllegalArgumentException.class, () -> transcribe(fixture("not-audio.wav"), ""));
    assertTrue(notAudio.getMessage().contains("WAV, AIFF or AU"), notAudio.getMessage());
    assertThrows(IllegalArgumentException.class, () -> transcribe(new byte[0], ""));
    var grammar = assertThrows(IllegalArgumentException.class,
        () -> transcribe(fixture("open-the-door-16k.wav"), "open | close"));
    assertTrue(grammar.getMessage().contains("JSGF"), grammar.getMessage());
  }
}
