package aimos.tenant;

import aimos.serialization.KryoSerializable;

/** What one inference consumed, as measured by the model runtime. */
public record Units(long promptTokens, long completionTokens, long images, long audioMillis) implements KryoSerializable {
  public Units {
    if (promptTokens < 0 || completionTokens < 0 || images < 0 || audioMillis < 0) {
      throw new IllegalArgumentException("usage units cannot be negative: " + promptTokens + "/" + completionTokens
          + "/" + images + "/" + audioMillis);
    }
  }

  public long tokens() {
    return promptTokens + completionTokens;
  }

  public static Units tokens(long prompt, long completion) {
    return new Units(prompt, completion, 0, 0);
  }
}
