package aimos.model.runtime;

import aimos.internal.sandbox.AudioResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import edu.cmu.sphinx.api.Configuration;
import edu.cmu.sphinx.api.SpeechResult;
import edu.cmu.sphinx.api.StreamSpeechRecognizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/**
 * Speech to text with CMU Sphinx4 and its en-us acoustic model. Without a grammar it decodes with the full
 * vocabulary (the 133k-word dictionary and the trigram language model: open speech, slow); with a JSGF grammar it
 * recognises only what the grammar allows (commands, digits: fast and exact). Audio comes as WAV, AIFF or AU with PCM
 * samples at any rate and channel count; it is converted to 16 kHz mono, which the model expects. The reply carries
 * the decoded duration, which is what the request is billed for.
 */
public final class SphinxSpeechRuntime implements ModelRuntime {
  public static final String NAME = "sphinx-speech";
  public static final long MAX_AUDIO_MILLIS = 5 * 60_000;
  private static final Pattern GRAMMAR_NAME = Pattern.compile("(?m)^\\s*grammar\\s+([A-Za-z_][A-Za-z0-9_.]*)\\s*;");
  private static final String MODELS = "resource:/edu/cmu/sphinx/models/en-us/";
  private static final int GRAMMARS_KEPT = 4;

  private StreamSpeechRecognizer fullVocabulary;
  /** Recognisers of recent grammars, by grammar text; the least recently used goes first. */
  private final Map<String, StreamSpeechRecognizer> grammars = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, StreamSpeechRecognizer> eldest) {
      return size() > GRAMMARS_KEPT;
    }
  };

  public SphinxSpeechRuntime() {
    Logger.getLogger("").setLevel(Level.WARNING);
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    if (!request.hasAudio()) {
      throw new InvalidInputException("runtime " + NAME + " transcribes audio: send audio, not "
          + request.getBodyCase().name().toLowerCase());
    }
    Decoded audio = decode(request.getAudio().getData().toByteArray());
    String grammar = request.getAudio().getGrammar();
    StreamSpeechRecognizer recognizer = grammar.isBlank() ? fullVocabulary() : grammar(grammar);
    StringBuilder text = new StringBuilder();
    synchronized (recognizer) {
      recognizer.startRecognition(new ByteArrayInputStream(audio.pcm()));
      SpeechResult result;
      while ((result = recognizer.getResult()) != null) {
        String hypothesis = result.getHypothesis().strip();
        if (!hypothesis.isEmpty()) {
          text.append(text.length() == 0 ? "" : " ").append(hypothesis);
        }
      }
      recognizer.stopRecognition();
    }
    reply.setTranscript(AudioResult.newBuilder().setText(text.toString()).setAudioMillis(audio.millis()));
  }

  /** 16 kHz mono 16-bit PCM, little-endian, and the audio's duration. */
  record Decoded(byte[] pcm, long millis) {}

  static Decoded decode(byte[] data) {
    if (data.length == 0) {
      throw new InvalidInputException("the audio is empty");
    }
    try (AudioInputStream source = AudioSystem.getAudioInputStream(new ByteArrayInputStream(data))) {
      AudioFormat f = source.getFormat();
      long millis = source.getFrameLength() < 0 || f.getFrameRate() <= 0 ? -1
          : Math.round(source.getFrameLength() * 1000.0 / f.getFrameRate());
      if (millis > MAX_AUDIO_MILLIS) {
        throw new InvalidInputException("the audio lasts " + millis / 1000 + " s; the limit is "
            + MAX_AUDIO_MILLIS / 1000 + " s: split it");
      }
      AudioInputStream pcm;
      try {
        pcm = f.getEncoding() == AudioFormat.Encoding.PCM_SIGNED && f.getSampleSizeInBits() == 16 ? source
            : AudioSystem.getAudioInputStream(new AudioFormat(f.getSampleRate(), 16, f.getChannels(), true, false),
                source);
      } catch (IllegalArgumentException e) {
        throw new InvalidInputException("audio encoded as " + f + " cannot be converted to PCM; send PCM WAV, "
            + "AIFF or AU");
      }
      byte[] samples = toModelRate(pcm.readAllBytes(), pcm.getFormat());
      long decodedMillis = samples.length * 1000L / (2 * 16_000);
      if (decodedMillis == 0) {
        throw new InvalidInputException("the audio holds no samples");
      }
      return new Decoded(samples, millis >= 0 ? millis : decodedMillis);
    } catch (UnsupportedAudioFileException e) {
      throw new InvalidInputException("unsupported audio: send WAV, AIFF or AU with PCM samples (any rate, mono "
          + "or stereo)");
    } catch (IOException e) {
      throw new InvalidInputException("the audio could not be read: " + e.getMessage());
    }
  }

  /**
   * 16-bit PCM of any rate and channel count as 16 kHz mono little-endian: channels averaged, then resampled with a
   * windowed-sinc low-pass at the lower Nyquist frequency (the JDK's converter aliases, and the model hears it).
   */
  static byte[] toModelRate(byte[] pcm, AudioFormat f) {
    int channels = f.getChannels();
    boolean big = f.isBigEndian();
    int frames = pcm.length / (2 * channels);
    float[] mono = new float[frames];
    for (int i = 0; i < frames; i++) {
      float sum = 0;
      for (int c = 0; c < channels; c++) {
        int at = 2 * (i * channels + c);
        int lo = pcm[big ? at + 1 : at] & 0xff;
        int hi = pcm[big ? at : at + 1];
        sum += (short) ((hi << 8) | lo);
      }
      mono[i] = sum / channels;
    }
    double rate = f.getSampleRate();
    float[] out = mono;
    if (Math.round(rate) != 16_000) {
      double step = rate / 16_000.0;
      double cutoff = Math.min(1.0, 16_000.0 / rate);
      int half = (int) Math.ceil(16 / cutoff);
      out = new float[(int) (frames / step)];
      for (int n = 0; n < out.length; n++) {
        double x = n * step;
        int center = (int) Math.floor(x);
        double acc = 0;
        for (int k = center - half + 1; k <= center + half; k++) {
          if (k < 0 || k >= frames) {
            continue;
          }
          double d = x - k;
          double sinc = d == 0 ? 1 : Math.sin(Math.PI * cutoff * d) / (Math.PI * cutoff * d);
          double w = 0.42 + 0.5 * Math.cos(Math.PI * d / half) + 0.08 * Math.cos(2 * Math.PI * d / half);
          acc += mono[k] * cutoff * sinc * w;
        }
        out[n] = (float) acc;
      }
    }
    byte[] bytes = new byte[out.length * 2];
    for (int i = 0; i < out.length; i++) {
      int v = Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, Math.round(out[i])));
      bytes[2 * i] = (byte) v;
      bytes[2 * i + 1] = (byte) (v >> 8);
    }
    return bytes;
  }

  private static Configuration configuration() {
    Configuration c = new Configuration();
    c.setAcousticModelPath(MODELS + "en-us");
    c.setDictionaryPath(MODELS + "cmudict-en-us.dict");
    c.setLanguageModelPath(MODELS + "en-us.lm.bin");
    return c;
  }

  private synchronized StreamSpeechRecognizer fullVocabulary() {
    if (fullVocabulary == null) {
      try {
        fullVocabulary = new StreamSpeechRecognizer(configuration());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load the en-us speech model: " + e.getMessage(), e);
      }
    }
    return fullVocabulary;
  }

  private synchronized StreamSpeechRecognizer grammar(String jsgf) {
    StreamSpeechRecognizer cached = grammars.get(jsgf);
    if (cached != null) {
      return cached;
    }
    Matcher name = GRAMMAR_NAME.matcher(jsgf);
    if (!jsgf.strip().startsWith("#JSGF") || !name.find() || !jsgf.contains("public <")) {
      throw new InvalidInputException("the grammar must be JSGF: a '#JSGF V1.0;' header, 'grammar <name>;' and at "
          + "least one 'public <rule> = ...;'");
    }
    try {
      Path dir = Files.createTempDirectory("aimos-jsgf");
      Files.writeString(dir.resolve(name.group(1) + ".gram"), jsgf, StandardCharsets.UTF_8);
      Configuration c = configuration();
      c.setGrammarPath(dir.toUri().toString());
      c.setGrammarName(name.group(1));
      c.setUseGrammar(true);
      StreamSpeechRecognizer recognizer = new StreamSpeechRecognizer(c);
      grammars.put(jsgf, recognizer);
      return recognizer;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw new InvalidInputException("the grammar could not be used: " + e.getMessage());
    }
  }
}
