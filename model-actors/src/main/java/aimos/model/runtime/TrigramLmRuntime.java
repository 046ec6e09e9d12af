package aimos.model.runtime;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextResult;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import edu.cmu.sphinx.linguist.WordSequence;
import edu.cmu.sphinx.linguist.acoustic.UnitManager;
import edu.cmu.sphinx.linguist.dictionary.Dictionary;
import edu.cmu.sphinx.linguist.dictionary.TextDictionary;
import edu.cmu.sphinx.linguist.dictionary.Word;
import edu.cmu.sphinx.linguist.language.ngram.trie.NgramTrieModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A real language model generating text word by word: the CMU Sphinx en-us trigram model (72k words, the
 * {@code de.sciss:sphinx4-data} jar). The context is the prompt's last two words the model knows; each next word is
 * the most probable of the model's {@value #CANDIDATES} most frequent words given the two before it (greedy, so the
 * same prompt gives the same text), never one of the last {@value #NO_REPEAT} words; the end-of-sentence token ends
 * a sentence with "." and the next starts from the sentence-start context, until max_tokens. Prompt and completion
 * tokens are counted with cl100k_base, as for every text runtime.
 */
public final class TrigramLmRuntime implements ModelRuntime {
  public static final String NAME = "trigram-lm";
  public static final int DEFAULT_MAX_TOKENS = 32;
  static final int CANDIDATES = 3000;
  static final int NO_REPEAT = 24;
  private static final String MODELS = "edu/cmu/sphinx/models/en-us/";
  private static final String END = "</s>";

  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private final Dictionary dictionary;
  private final NgramTrieModel model;
  private final List<Word> candidates;
  private final Word start;

  public TrigramLmRuntime() {
    Logger.getLogger("edu.cmu.sphinx").setLevel(Level.WARNING);
    ClassLoader cl = TrigramLmRuntime.class.getClassLoader();
    try {
      TextDictionary dict = new TextDictionary(resource(cl, MODELS + "cmudict-en-us.dict"),
          resource(cl, MODELS + "en-us/noisedict"), null, null, new UnitManager());
      dict.allocate();
      dictionary = dict;
      model = new NgramTrieModel("", resource(cl, MODELS + "en-us.lm.bin"), null, 100_000, false, 3, dict, false,
          1.0f, 1.0, 1.0f);
      model.allocate();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the en-us trigram model: " + e.getMessage(), e);
    }
    List<Word> words = new ArrayList<>();
    for (String w : model.getVocabulary()) {
      Word word = dictionary.getWord(w);
      if (word != null && (w.equals(END) || Character.isLetter(w.charAt(0)))) {
        words.add(word);
      }
    }
    float[] unigram = new float[words.size()];
    Integer[] order = new Integer[words.size()];
    for (int i = 0; i < unigram.length; i++) {
      unigram[i] = model.getProbability(new WordSequence(words.get(i)));
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(unigram[b], unigram[a]));
    candidates = Arrays.stream(order).limit(CANDIDATES).map(words::get).toList();
    start = dictionary.getWord("<s>");
  }

  private static URL resource(ClassLoader cl, String path) {
    URL url = cl.getResource(path);
    if (url == null) {
      throw new IllegalStateException(path + " is not on the classpath: the sandbox needs de.sciss:sphinx4-data");
    }
    return url;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    run(request, reply, piece -> { });
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply, Consumer<String> chunks) {
    if (!request.hasText()) {
      throw new InvalidInputException("runtime " + NAME + " takes text input");
    }
    String prompt = request.getText().getPrompt();
    if (prompt.isBlank()) {
      throw new InvalidInputException("prompt is empty");
    }
    int maxTokens = request.getText().getMaxTokens() == 0 ? DEFAULT_MAX_TOKENS : request.getText().getMaxTokens();
    if (maxTokens < 1 || maxTokens > EchoTextRuntime.MAX_TOKENS_LIMIT) {
      throw new InvalidInputException("max_tokens must be between 1 and " + EchoTextRuntime.MAX_TOKENS_LIMIT);
    }
    StringBuilder completion = new StringBuilder();
    generate(prompt, maxTokens, piece -> {
      completion.append(piece);
      chunks.accept(piece);
    });
    reply.setText(TextResult.newBuilder()
        .setCompletion(completion.toString())
        .setPromptTokens(encoding.countTokens(prompt))
        .setCompletionTokens(encoding.countTokens(completion.toString())));
  }

  /**
   * Generates the continuation of {@code prompt} one word at a time, handing each piece (the word with its leading
   * space, or the "." ending a sentence) to {@code onPiece} as soon as it is chosen, until {@code maxTokens} cl100k
   * tokens.
   */
  public void generate(String prompt, int maxTokens, Consumer<String> onPiece) {
    Word w1 = start;
    Word w2 = start;
    for (String token : prompt.toLowerCase(Locale.ROOT).split("[^a-z']+")) {
      Word w = token.isEmpty() ? null : dictionary.getWord(token);
      if (w != null && model.getVocabulary().contains(token)) {
        w1 = w2;
        w2 = w;
      }
    }
    Deque<Word> recent = new ArrayDeque<>();
    StringBuilder text = new StringBuilder();
    while (true) {
      Word best = null;
      float bestScore = -Float.MAX_VALUE;
      for (Word c : candidates) {
        if (recent.contains(c) || (c.getSpelling().equals(END) && (text.length() == 0 || w2 == start))) {
          continue;
        }
        float score = model.getProbability(new WordSequence(w1, w2, c));
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      if (best == null) {
        return;
      }
      boolean end = best.getSpelling().equals(END);
      String piece = end ? "." : (text.length() == 0 ? "" : " ") + best.getSpelling();
      if (encoding.countTokens(text + piece) > maxTokens) {
        return;
      }
      text.append(piece);
      onPiece.accept(piece);
      // the end of a sentence starts the next one from the sentence-start context
      w1 = end ? start : w2;
      w2 = end ? start : best;
      recent.addLast(best);
      if (recent.size() > NO_REPEAT) {
        recent.removeFirst();
      }
    }
  }
}
