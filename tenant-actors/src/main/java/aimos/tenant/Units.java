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

  public static Units image() {
    return new Units(0, 0, 1, 0);
  }

  /**
   * Audio is billed by its decoded duration rounded up to the whole second (so 0.2 s bills 1 s, 2.24 s bills 3 s);
   * the price is per minute, so a second costs 1/60 of it, rounded to the micro-dollar once per request.
   */
  public static Units audio(long durationMillis) {
    if (durationMillis <= 0) {
      throw new IllegalArgumentException("audio duration must be positive, was " + durationMillis + " ms");
    }
    return new Units(0, 0, 0, (durationMillis + 999) / 1000 * 1000);
  }
}
