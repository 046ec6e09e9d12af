package aimos.node.gateway;

import static aimos.node.gateway.GrpcFailures.invalid;

import aimos.api.v1.GetUsageResponse;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.ModelUsage;
import aimos.api.v1.TextOutput;
import aimos.api.v1.Usage;
import aimos.billing.ledger.UsageReport;
import aimos.model.ModelEntity;
import aimos.model.sandbox.Worker;
import aimos.node.BearerToken;
import aimos.node.NodeSettings;
import aimos.tenant.ApiKeys;
import aimos.tenant.Money;
import aimos.tenant.TenantEntity;
import io.grpc.Status;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;

/**
 * The inference API's one mapping between the wire and the platform: what makes a request valid, its id, deadline
 * and fingerprint, the job a worker runs for it, the units it is billed for, and the response made of a worker's
 * result and the recorded usage.
 */
final class InferenceMapping {
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  /** How a request without any API key is told so (the metrics tell it from a wrong key by this). */
  static final String MISSING_KEY = "missing API key";

  private InferenceMapping() {}

  /**
   * A hash of everything that makes up the request but its id: model, version and input. Protobuf writes a message
   * without maps the same way every time, so a retry (over gRPC or REST) hashes the same.
   */
  static String fingerprint(InferRequest in) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(in.toBuilder().clearRequestId().build().toByteArray());
      return java.util.HexFormat.of().formatHex(digest, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** When the caller's gRPC deadline ({@code grpc-timeout}) passes, as System.nanoTime(); 0 without one. */
  static long deadlineOf(Metadata metadata) {
    return metadata.getText("grpc-timeout").map(InferenceMapping::parseGrpcTimeout)
        .map(nanos -> System.nanoTime() + nanos).orElse(0L);
  }

  /** A {@code grpc-timeout} value (1-8 digits and a unit H, M, S, m, u or n) in nanoseconds; null when malformed. */
  static Long parseGrpcTimeout(String value) {
    if (value.length() < 2 || value.length() > 9) {
      return null;
    }
    long amount;
    try {
      amount = Long.parseLong(value.substring(0, value.length() - 1));
    } catch (NumberFormatException e) {
      return null;
    }
    if (amount < 0) {
      return null;
    }
    return switch (value.charAt(value.length() - 1)) {
      case 'H' -> amount * 3_600_000_000_000L;
      case 'M' -> amount * 60_000_000_000L;
      case 'S' -> amount * 1_000_000_000L;
      case 'm' -> amount * 1_000_000L;
      case 'u' -> amount * 1_000L;
      case 'n' -> amount;
      default -> null;
    };
  }


  static String requestId(InferRequest in) {
    return in.getRequestId().isEmpty() ? UUID.randomUUID().toString() : in.getRequestId();
  }


  static void validate(InferRequest in, NodeSettings settings) {
    if (in.getModel().isEmpty()) {
      throw invalid("model is required, for example \"demo-text\"");
    }
    if (!ModelEntity.isValidName(in.getModel())) {
      throw invalid("model must be " + ModelEntity.nameRule() + ", was \"" + in.getModel() + "\"");
    }
    if (!in.getRequestId().isEmpty() && !REQUEST_ID.matcher(in.getRequestId()).matches()) {
      throw invalid("request_id must be 1-128 characters of letters, digits and . _ : -");
    }
    if (in.hasEmbedding()) {
      validateEmbedding(in.getEmbedding(), settings);
      return;
    }
    if (in.hasAudio()) {
      int size = in.getAudio().getData().size();
      if (size == 0) {
        throw invalid("audio.data is empty: send the bytes of a WAV, AIFF or AU file");
      }
      if (size > settings.maxImageBytes() * 2) {
        throw invalid("audio.data has " + size + " bytes; the limit is " + settings.maxImageBytes() * 2);
      }
      if (in.getAudio().getGrammar().length() > 65_536) {
        throw invalid("audio.grammar is longer than 64 KiB");
      }
      return;
    }
    if (in.hasImage()) {
      int size = in.getImage().getData().size();
      if (size == 0) {
        throw invalid("image.data is empty: send the bytes of a PNG, JPEG, GIF or BMP image");
      }
      if (size > settings.maxImageBytes()) {
        throw invalid("image.data has " + size + " bytes; the limit is " + settings.maxImageBytes());
      }
      return;
    }
    if (!in.hasText()) {
      throw invalid("input is required: set text.prompt (or embedding.inputs for an embeddings model, image.data "
          + "for a vision model)");
    }
    String prompt = in.getText().getPrompt();
    if (prompt.isBlank()) {
      throw invalid("text.prompt is empty");
    }
    if (prompt.length() > settings.maxPromptChars()) {
      throw invalid("text.prompt has " + prompt.length() + " characters; the limit is " + settings.maxPromptChars());
    }
    if (in.getText().getMaxTokens() < 0 || in.getText().getMaxTokens() > 4096) {
      throw invalid("text.max_tokens must be between 0 (model default) and 4096");
    }
  }

  private static void validateEmbedding(aimos.api.v1.EmbeddingInput e, NodeSettings settings) {
    if (e.getInputsCount() < 1 || e.getInputsCount() > MAX_EMBEDDING_INPUTS) {
      throw invalid("embedding.inputs must hold 1 to " + MAX_EMBEDDING_INPUTS + " texts, not " + e.getInputsCount());
    }
    long chars = 0;
    for (int i = 0; i < e.getInputsCount(); i++) {
      if (e.getInputs(i).isBlank()) {
        throw invalid("embedding.inputs[" + i + "] is empty");
      }
      chars += e.getInputs(i).length();
    }
    if (chars > settings.maxPromptChars()) {
      throw invalid("embedding.inputs have " + chars + " characters in all; the limit is " + settings.maxPromptChars());
    }
  }

  static final int MAX_EMBEDDING_INPUTS = 256;

  /** Characters of input, for the tokens-per-minute estimate at admission (about 4 characters a token). */
  static long inputChars(InferRequest in) {
    if (in.hasImage() || in.hasAudio()) {
      return 0;
    }
    return in.hasEmbedding() ? in.getEmbedding().getInputsList().stream().mapToLong(String::length).sum()
        : in.getText().getPrompt().length();
  }


  static Usage.Builder usage(TenantEntity.Recorded recorded) {
    return Usage.newBuilder()
        .setPromptTokens(recorded.units().promptTokens())
        .setCompletionTokens(recorded.units().completionTokens())
        .setImages(recorded.units().images())
        .setAudioMillis(recorded.units().audioMillis())
        .setChargeUsd(Money.format(recorded.chargeMicros()));
  }

  static Worker.Job job(InferRequest in) {
    if (in.hasImage()) {
      return new Worker.ImageJob(in.getImage().getData().toByteArray());
    }
    if (in.hasAudio()) {
      return new Worker.AudioJob(in.getAudio().getData().toByteArray(), in.getAudio().getGrammar());
    }
    return in.hasEmbedding() ? new Worker.EmbedJob(java.util.List.copyOf(in.getEmbedding().getInputsList()))
        : new Worker.TextJob(in.getText().getPrompt(), in.getText().getMaxTokens());
  }

  /** What the request is billed for, from what the model did. */
  static aimos.tenant.Units units(Worker.Result r) {
    if (r instanceof Worker.Seen) {
      return aimos.tenant.Units.image();
    }
    if (r instanceof Worker.Transcribed t) {
      return aimos.tenant.Units.audio(t.audioMillis());
    }
    return r instanceof Worker.Embedded e ? aimos.tenant.Units.tokens(e.tokens(), 0)
        : aimos.tenant.Units.tokens(((Worker.Completed) r).promptTokens(), ((Worker.Completed) r).completionTokens());
  }

  /** The model's output as the response's output field. */
  static InferResponse output(Worker.Result r) {
    if (r instanceof Worker.Transcribed t) {
      return InferResponse.newBuilder().setTranscript(aimos.api.v1.TranscriptOutput.newBuilder().setText(t.text())
          .setDurationMillis(t.audioMillis())).build();
    }
    if (r instanceof Worker.Seen seen) {
      aimos.api.v1.ImageOutput.Builder out = aimos.api.v1.ImageOutput.newBuilder().setText(seen.text())
          .setConfidence(seen.confidence());
      seen.labels().forEach(l -> out.addLabels(aimos.api.v1.ImageLabel.newBuilder().setLabel(l.label())
          .setScore(l.score())));
      return InferResponse.newBuilder().setImage(out).build();
    }
    if (r instanceof Worker.Embedded e) {
      aimos.api.v1.EmbeddingOutput.Builder out = aimos.api.v1.EmbeddingOutput.newBuilder();
      for (float[] vector : e.vectors()) {
        aimos.api.v1.Embedding.Builder b = aimos.api.v1.Embedding.newBuilder();
        for (float f : vector) {
          b.addValues(f);
        }
        out.addData(b);
      }
      return InferResponse.newBuilder().setEmbedding(out).build();
    }
    return InferResponse.newBuilder().setText(TextOutput.newBuilder()
        .setCompletion(((Worker.Completed) r).completion())).build();
  }

  static GetUsageResponse toProto(UsageReport r) {
    GetUsageResponse.Builder b = GetUsageResponse.newBuilder().setTenantId(r.tenantId()).setMonth(r.month())
        .setRequests(r.requests()).setPromptTokens(r.promptTokens()).setCompletionTokens(r.completionTokens())
        .setImages(r.images()).setAudioMillis(r.audioMillis()).setChargeUsd(Money.format(r.chargeMicros()));
    r.byModel().forEach(l -> b.addByModel(ModelUsage.newBuilder().setModel(l.model()).setVersion(l.version())
        .setRequests(l.requests()).setTokens(l.tokens()).setImages(l.images()).setAudioMillis(l.audioMillis())
        .setChargeUsd(Money.format(l.chargeMicros()))));
    return b.build();
  }

  static ApiKeys.Presented apiKey(Metadata metadata) {
    String header = metadata.getText("authorization").orElse("");
    if (header.isEmpty()) {
      throw new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
          MISSING_KEY + ": send the metadata 'authorization: Bearer aimos_<tenant>_<secret>'"));
    }
    return ApiKeys.parse(BearerToken.of(header)).orElseThrow(() -> new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
        "invalid or revoked API key")));
  }
}
