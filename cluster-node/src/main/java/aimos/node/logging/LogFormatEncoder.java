package aimos.node.logging;

import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import java.util.Locale;

/**
 * The node's log encoder: text lines by default, or one JSON object a line (Logback's own {@link JsonEncoder}) when
 * {@code format} is {@code json} (from {@code AIMOS_LOG_FORMAT}). An empty format is text; any other value is text too,
 * with a warning, so that a mistyped setting never silences the node.
 */
public final class LogFormatEncoder extends EncoderBase<ILoggingEvent> {
  private String format = "text";
  private String pattern = "%d{HH:mm:ss.SSS} %-5level %logger{24} - %msg%n";
  private Encoder<ILoggingEvent> delegate;

  public void setFormat(String format) {
    this.format = format == null ? "" : format.trim().toLowerCase(Locale.ROOT);
  }

  public void setPattern(String pattern) {
    this.pattern = pattern;
  }

  /** The format in use once started: {@code text} or {@code json}. */
  public String effectiveFormat() {
    return delegate instanceof JsonEncoder ? "json" : "text";
  }

  @Override
  public void start() {
    if (format.equals("json")) {
      JsonEncoder json = new JsonEncoder();
      json.setContext(getContext());
      json.setWithSequenceNumber(false);
      json.setWithNanoseconds(false);
      json.setWithContext(false);
      json.setWithMessage(false);
      json.setWithArguments(false);
      json.setWithFormattedMessage(true);
      json.start();
      delegate = json;
    } else {
      if (!format.isEmpty() && !format.equals("text")) {
        addWarn("AIMOS_LOG_FORMAT must be text or json, was \"" + format + "\"; logging text");
      }
      PatternLayoutEncoder text = new PatternLayoutEncoder();
      text.setContext(getContext());
      text.setPattern(pattern);
      text.start();
      delegate = text;
    }
    super.start();
  }

  @Override
  public void stop() {
    if (delegate != null) {
      delegate.stop();
    }
    super.stop();
  }

  @Override
  public byte[] headerBytes() {
    return delegate.headerBytes();
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    return delegate.encode(event);
  }

  @Override
  public byte[] footerBytes() {
    return delegate.footerBytes();
  }
}
