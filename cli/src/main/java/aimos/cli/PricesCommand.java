package aimos.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

@Command(name = "prices", description = {"The price book: list the price lists, add one.",
    "Lists are only added; each is in force from its effectiveFrom until the next one's."},
    subcommands = {PricesCommand.List.class, PricesCommand.Add.class})
final class PricesCommand {

  @Command(name = "list", description = {"Every price list, the one in force, and this node's copy of the book",
      "(GET /admin/prices)."})
  static final class List extends ApiCommand {
    @Override
    int run() {
      print(management().get("/admin/prices"));
      return 0;
    }
  }

  @Command(name = "add", description = {"Add a price list (POST /admin/prices).",
      "It must take effect at least aimos.billing.price-change-lead (60 s) from now and after the latest list.",
      "Without the volume discount options the latest list's discount is kept (read with GET /admin/prices)."})
  static final class Add extends ApiCommand {
    @Option(names = "--effective-from", paramLabel = "INSTANT", required = true,
        description = "when it takes effect, an instant in UTC, for example 2026-12-15T00:00:00Z")
    String effectiveFrom;

    @Option(names = "--tokens-per-1k-usd", paramLabel = "USD", required = true, converter = TenantsCommand.Usd.class,
        description = "default price of 1,000 tokens in US dollars, for example 0.03")
    String tokensPer1kUsd;

    @Option(names = "--image-usd", paramLabel = "USD", required = true, converter = TenantsCommand.Usd.class,
        description = "default price of an image in US dollars")
    String imageUsd;

    @Option(names = "--audio-minute-usd", paramLabel = "USD", required = true, converter = TenantsCommand.Usd.class,
        description = "default price of an audio minute in US dollars")
    String audioMinuteUsd;

    @Option(names = "--volume-discount-threshold-tokens", paramLabel = "N",
        description = "the month's tokens past which the discount applies (with --volume-discount-percent)")
    Long thresholdTokens;

    @Option(names = "--volume-discount-percent", paramLabel = "PERCENT",
        description = "the discount, a whole number 0-100 (with --volume-discount-threshold-tokens)")
    Integer percent;

    @Option(names = "--model", paramLabel = "NAME=USD",
        description = "a model's unit price while the list is in force, replacing its versions' own; repeatable, "
            + "for example --model demo-text=0.05")
    Map<String, String> models;

    @Override
    int run() {
      try {
        Instant.parse(effectiveFrom);
      } catch (DateTimeParseException e) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '--effective-from': '"
            + effectiveFrom + "' is not an instant (write UTC, for example 2026-12-15T00:00:00Z)");
      }
      if ((thresholdTokens == null) != (percent == null)) {
        throw new ParameterException(spec.commandLine(), "--volume-discount-threshold-tokens and "
            + "--volume-discount-percent go together: give both, or neither to keep the latest list's discount");
      }
      if (thresholdTokens != null && thresholdTokens < 0) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option "
            + "'--volume-discount-threshold-tokens': " + thresholdTokens + " (give 0 or more)");
      }
      if (percent != null && (percent < 0 || percent > 100)) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '--volume-discount-percent': "
            + percent + " (give a whole number from 0 to 100)");
      }
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("effectiveFrom", effectiveFrom);
      body.put("tokensPer1kUsd", tokensPer1kUsd);
      body.put("imageUsd", imageUsd);
      body.put("audioMinuteUsd", audioMinuteUsd);
      if (models != null) {
        ObjectNode m = body.putObject("models");
        TenantsCommand.Usd usd = new TenantsCommand.Usd();
        models.forEach((name, price) -> {
          try {
            m.put(name, usd.convert(price));
          } catch (picocli.CommandLine.TypeConversionException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--model': " + name + "="
                + price + ": " + e.getMessage());
          }
        });
      }
      Management api = management();
      ObjectNode discount = body.putObject("volumeDiscount");
      if (thresholdTokens != null) {
        discount.put("thresholdTokens", thresholdTokens);
        discount.put("percent", percent);
      } else {
        JsonNode latest = null;
        for (JsonNode l : api.get("/admin/prices").path("lists")) {
          if (latest == null || l.path("id").asLong() > latest.path("id").asLong()) {
            latest = l;
          }
        }
        JsonNode d = latest == null ? null : latest.path("volumeDiscount");
        if (d == null || !d.path("thresholdTokens").canConvertToLong() || !d.path("percent").isInt()) {
          throw new CliFailure("the price book answered no list with a volume discount to keep: give "
              + "--volume-discount-threshold-tokens and --volume-discount-percent");
        }
        discount.put("thresholdTokens", d.path("thresholdTokens").asLong());
        discount.put("percent", d.path("percent").asInt());
      }
      print(api.post("/admin/prices", body));
      return 0;
    }
  }
}
