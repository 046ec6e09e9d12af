package aimos.model.runtime;

import aimos.internal.sandbox.AudioResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import edu.cmu.sphinx.api.AbstractSpeechRecognizer;
import edu.cmu.sphinx.api.Configuration;
import edu.cmu.sphinx.api.Context;
import edu.cmu.sphinx.api.SpeechResult;
import edu.cmu.sphinx.api.StreamSpeechRecognizer;
import edu.cmu.sphinx.util.TimeFrame;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/**
 * Speech to text with CMU Sphinx4 and its en-us acoustic model. Without a grammar it decodes with the full
 * vocabulary (the 133k-word dictionary and the trigram language model: open speech, slow); with a JSGF grammar it
 * recognises only what the grammar allows (commands, digits: fast and exact). Audio comes as WAV, AIFF or AU with PCM
 * samples at 8 to 96 kHz and 1 to 8 channels; it is converted to 16 kHz mono, which the model expects. The reply
 * carries the decoded duration, which is what the request is billed for. Words the decoder did not recognise
 * ({@code <unk>}) and fillers ({@code <sil>}, {@code [NOISE]}) are not part of the transcript.
 */
public final class SphinxSpeechRuntime implements ModelRuntime {
  public static final String NAME = "sphinx-speech";
  public static final long MAX_AUDIO_MILLIS = 5 * 60_000;
  static final int MIN_RATE = 8_000;
  static final int MAX_RATE = 96_000;
  static final int MAX_CHANNELS = 8;
  private static final int MODEL_RATE = 16_000;
  private static final Pattern GRAMMAR_NAME = Pattern.compile("(?m)^\\s*grammar\\s+([A-Za-z_][A-Za-z0-9_.]*)\\s*;");
  private static final Pattern NOT_A_WORD = Pattern.compile("<[^>]*>|\\[[^]]*]|\\+\\+[^+]*\\+\\+");
  private static final String MODELS = "resource:/edu/cmu/sphinx/models/en-us/";
  private static final int GRAMMARS_KEPT = 4;
  private static final Set<AudioFormat.Encoding> ENCODINGS = Set.of(AudioFormat.Encoding.PCM_SIGNED,
      AudioFormat.Encoding.PCM_UNSIGNED, AudioFormat.Encoding.ULAW, AudioFormat.Encoding.ALAW);
  private static final String FORMATS = "send WAV, AIFF or AU with PCM samples (8 to 96 kHz, mono or stereo)";

  private StreamSpeechRecognizer fullVocabulary;
  /** Recognisers of recent grammars, by grammar text; the least recently used goes first. */
  private final Map<String, GrammarRecognizer> grammars = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, GrammarRecognizer> eldest) {
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
    StringBuilder text = new StringBuilder();
    InputStream speech = new ByteArrayInputStream(audio.pcm());
    if (grammar.isBlank()) {
      StreamSpeechRecognizer recognizer = fullVocabulary();
      synchronized (recognizer) {
        recognizer.startRecognition(speech);
        collect(recognizer, text);
        recognizer.stopRecognition();
      }
    } else {
      GrammarRecognizer recognizer = grammar(grammar);
      synchronized (recognizer) {
        recognizer.start(speech);
        collect(recognizer, text);
      }
    }
    reply.setTranscript(AudioResult.newBuilder().setText(text.toString()).setAudioMillis(audio.millis()));
  }

  private static void collect(AbstractSpeechRecognizer recognizer, StringBuilder text) {
    SpeechResult result;
    while ((result = recognizer.getResult()) != null) {
      String words = words(result.getHypothesis());
      if (!words.isEmpty()) {
        text.append(text.length() == 0 ? "" : " ").append(words);
      }
    }
  }

  /** The words of a hypothesis, without {@code <unk>}, silences and noises, which are no one's words. */
  static String words(String hypothesis) {
    return Arrays.stream(hypothesis.strip().split("\\s+"))
        .filter(w -> !w.isEmpty() && !NOT_A_WORD.matcher(w).matches())
        .collect(Collectors.joining(" "));
  }

  /** 16 kHz mono 16-bit PCM, little-endian, as the decoders take it, and the audio's duration. */
  record Decoded(byte[] pcm, long millis) {}

  /**
   * Checks the header (format, rate, channels, duration) before reading any sample, then reads at most the samples
   * of {@link #MAX_AUDIO_MILLIS}: a header that does not say how long the audio is cannot make it longer.
   */
  static Decoded decode(byte[] data) {
    if (data.length == 0) {
      throw new InvalidInputException("the audio is empty");
    }
    AudioFileFormat file;
    try {
      file = AudioSystem.getAudioFileFormat(new ByteArrayInputStream(data));
    } catch (UnsupportedAudioFileException | IOException | RuntimeException e) {
      throw new InvalidInputException("unsupported audio: " + FORMATS);
    }
    AudioFormat f = file.getFormat();
    long maxFrames = checkFormat(f);
    long frames = file.getFrameLength();
    if (frames != AudioSystem.NOT_SPECIFIED && frames > maxFrames) {
      throw tooLong(Math.round(frames * 1000.0 / f.getSampleRate()) / 1000);
    }
    try (AudioInputStream source = AudioSystem.getAudioInputStream(new ByteArrayInputStream(data))) {
      AudioInputStream pcm = f.getEncoding() == AudioFormat.Encoding.PCM_SIGNED && f.getSampleSizeInBits() == 16
          ? source
          : AudioSystem.getAudioInputStream(new AudioFormat(f.getSampleRate(), 16, f.getChannels(), true, false),
              source);
      int frameBytes = 2 * f.getChannels();
      // one frame more than allowed tells that there is more
      byte[] bytes = pcm.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, (maxFrames + 1) * frameBytes));
      if (bytes.length / frameBytes > maxFrames) {
        throw tooLong(-1);
      }
      float[] samples = toModelRate(bytes, pcm.getFormat());
      long decodedMillis = samples.length * 1000L / MODEL_RATE;
      if (decodedMillis == 0) {
        throw new InvalidInputException("the audio holds no samples");
      }
      long millis = frames != AudioSystem.NOT_SPECIFIED ? Math.round(frames * 1000.0 / f.getSampleRate())
          : decodedMillis;
      return new Decoded(speechInput(samples), millis);
    } catch (InvalidInputException e) {
      throw e;
    } catch (UnsupportedAudioFileException | IllegalArgumentException e) {
      throw new InvalidInputException("audio encoded as " + f.getEncoding() + " with " + f.getSampleSizeInBits()
          + "-bit samples cannot be converted to PCM; " + FORMATS);
    } catch (IOException | RuntimeException e) {
      throw new InvalidInputException("the audio could not be read; " + FORMATS);
    }
  }

  /** Refuses formats this runtime does not take, from the header alone; the frames of the longest audio allowed. */
  private static long checkFormat(AudioFormat f) {
    if (!ENCODINGS.contains(f.getEncoding())) {
      throw new InvalidInputException("audio encoded as " + f.getEncoding() + " is not taken; " + FORMATS);
    }
    if (f.getChannels() < 1 || f.getChannels() > MAX_CHANNELS) {
      throw new InvalidInputException("the audio has " + f.getChannels() + " channels; the limit is " + MAX_CHANNELS);
    }
    float rate = f.getSampleRate();
    if (!(rate >= MIN_RATE && rate <= MAX_RATE) || Math.abs(f.getFrameRate() - rate) > 0.5f) {
      throw new InvalidInputException("the audio's sample rate is " + rate + " Hz; this model takes " + MIN_RATE
          + " to " + MAX_RATE + " Hz");
    }
    int bits = f.getSampleSizeInBits();
    if (bits != 8 && bits != 16 && bits != 24 && bits != 32) {
      throw new InvalidInputException("the audio has " + bits + "-bit samples; this model takes 8, 16, 24 or 32");
    }
    return (long) Math.ceil(MAX_AUDIO_MILLIS / 1000.0 * rate);
  }

  private static InvalidInputException tooLong(long seconds) {
    return new InvalidInputException("the audio lasts " + (seconds >= 0 ? seconds + " s" : "longer than that")
        + "; the limit is " + MAX_AUDIO_MILLIS / 1000 + " s: split it");
  }

  /** Fractional positions the resampling filter is tabulated at. */
  private static final int PHASES = 512;

  /**
   * 16-bit PCM of 8 to 96 kHz and any channel count as 16 kHz mono: channels averaged, then resampled with a
   * windowed-sinc low-pass at the lower Nyquist frequency (the JDK's converter aliases, and the model hears it). The
   * filter is tabulated once per call, so the cost is the taps per output sample, not a sine per tap.
   */
  static float[] toModelRate(byte[] pcm, AudioFormat f) {
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
    if (Math.round(rate) == MODEL_RATE) {
      return mono;
    }
    if (!(rate >= MIN_RATE && rate <= MAX_RATE)) {
      throw new IllegalArgumentException("sample rate " + rate + " out of range");
    }
    double step = rate / MODEL_RATE;
    double cutoff = Math.min(1.0, MODEL_RATE / rate);
    int half = (int) Math.ceil(16 / cutoff);
    int taps = 2 * half;
    // kernel[p][j]: the weight of input sample center - half + 1 + j for an output at center + p / PHASES
    float[][] kernel = new float[PHASES][taps];
    for (int p = 0; p < PHASES; p++) {
      double frac = p / (double) PHASES;
      for (int j = 0; j < taps; j++) {
        double d = frac + half - 1 - j;
        double sinc = d == 0 ? 1 : Math.sin(Math.PI * cutoff * d) / (Math.PI * cutoff * d);
        double w = 0.42 + 0.5 * Math.cos(Math.PI * d / half) + 0.08 * Math.cos(2 * Math.PI * d / half);
        kernel[p][j] = (float) (cutoff * sinc * w);
      }
    }
    float[] out = new float[(int) (frames / step)];
    for (int n = 0; n < out.length; n++) {
      double x = n * step;
      int center = (int) Math.floor(x);
      float[] k = kernel[(int) ((x - center) * PHASES)];
      int first = center - half + 1;
      double acc = 0;
      for (int j = Math.max(0, -first), end = Math.min(taps, frames - first); j < end; j++) {
        acc += mono[first + j] * k[j];
      }
      out[n] = (float) acc;
    }
    return out;
  }

  /** Quarter of a second of quiet on each side: the decoders estimate noise and start words from it. */
  private static final int PAD = MODEL_RATE / 4;
  /** Peak level the speech is brought to (an eighth of full scale), gaining at most 32 times. */
  private static final float PEAK = 4_000;
  private static final float MAX_GAIN = 32;

  /**
   * The samples as the decoders hear them best: DC offset removed, the peak at {@link #PEAK}, padded with quiet, and
   * a dither of about 2 LSB (digital silence, as synthesised speech has, is no signal the front end can take a
   * logarithm of). The dither is seeded, so the same audio gives the same transcript.
   */
  static byte[] speechInput(float[] samples) {
    double mean = 0;
    for (float s : samples) {
      mean += s;
    }
    mean /= Math.max(1, samples.length);
    double peak = 0;
    for (float s : samples) {
      peak = Math.max(peak, Math.abs(s - mean));
    }
    double gain = peak == 0 ? 1 : Math.min(MAX_GAIN, PEAK / peak);
    Random dither = new Random(samples.length);
    byte[] bytes = new byte[2 * (samples.length + 2 * PAD)];
    for (int i = 0; i < samples.length + 2 * PAD; i++) {
      int at = i - PAD;
      double s = at >= 0 && at < samples.length ? (samples[at] - mean) * gain : 0;
      int v = (int) Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, Math.round(s + 2 * dither.nextGaussian())));
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
        throw new UncheckedIOException("cannot load the en-us speech model", e);
      }
    }
    return fullVocabulary;
  }

  /**
   * A recogniser of one grammar, allocated once when it is made: the grammar's files are read then and can go at
   * once, and requests do not compile the grammar again.
   */
  static final class GrammarRecognizer extends AbstractSpeechRecognizer {
    GrammarRecognizer(Context context) throws IOException {
      super(context);
      recognizer.allocate();
    }

    void start(InputStream speech) {
      context.setSpeechSource(speech, TimeFrame.INFINITE);
    }
  }

  /**
   * Sphinx4's own configuration, except that an utterance ends after a second of silence, not a fifth: a grammar
   * describes whole commands, and a pause between two words must not cut one in two.
   */
  private static String grammarConfig() {
    String xml;
    try (InputStream in = Context.class.getResourceAsStream("/edu/cmu/sphinx/api/default.config.xml")) {
      xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("Sphinx4's default.config.xml is not on the classpath", e);
    }
    String marker = "type=\"edu.cmu.sphinx.frontend.endpoint.SpeechMarker\" >";
    if (!xml.contains(marker)) {
      throw new IllegalStateException("Sphinx4's default.config.xml has no speech marker where this runtime expects it");
    }
    return xml.replace(marker, marker + "\n    <property name=\"endSilence\" value=\"1000\"/>");
  }

  private static final String GRAMMAR_CONFIG = grammarConfig();

  private synchronized GrammarRecognizer grammar(String jsgf) {
    GrammarRecognizer cached = grammars.get(jsgf);
    if (cached != null) {
      return cached;
    }
    Matcher name = GRAMMAR_NAME.matcher(jsgf);
    if (!jsgf.strip().startsWith("#JSGF") || !name.find() || !jsgf.contains("public <")) {
      throw new InvalidInputException("the grammar must be JSGF: a '#JSGF V1.0;' header, 'grammar <name>;' and at "
          + "least one 'public <rule> = ...;'");
    }
    Path dir = null;
    try {
      dir = Files.createTempDirectory("aimos-jsgf");
      Files.writeString(dir.resolve(name.group(1) + ".gram"), jsgf, StandardCharsets.UTF_8);
      Path config = Files.writeString(dir.resolve("sphinx.config.xml"), GRAMMAR_CONFIG, StandardCharsets.UTF_8);
      Configuration c = configuration();
      c.setGrammarPath(dir.toUri().toString());
      c.setGrammarName(name.group(1));
      c.setUseGrammar(true);
      GrammarRecognizer recognizer = new GrammarRecognizer(new Context(config.toUri().toString(), c));
      grammars.put(jsgf, recognizer);
      return recognizer;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      // the parser's text names its internals; the log keeps it
      System.err.println("grammar refused: " + e);
      throw new InvalidInputException("the grammar could not be used: check its JSGF syntax, and that its words are "
          + "English words");
    } finally {
      delete(dir);
    }
  }

  /** Removes a grammar's directory, which nothing reads once its recogniser is allocated. */
  private static void delete(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("cannot delete " + dir + ": " + e.getMessage());
    }
  }
}
