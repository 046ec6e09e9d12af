package aimos.node.admin;

import aimos.access.privacy.SealedText;
import aimos.access.privacy.TenantDataKeys;
import aimos.billing.invoice.InvoiceDocuments;
import aimos.billing.invoice.Invoices;
import aimos.billing.webhook.WebhookEndpoints;
import aimos.billing.webhook.WebhookStore;
import aimos.tenant.TenantEntity;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A tenant's rights over its personal data (GDPR): an export of everything held about it (right of access), and
 * erasure, which destroys its data key so every sealed value of it (display name, webhook URLs and descriptions, in
 * events, snapshots and tables alike) reads as {@value SealedText#ERASED}. Usage, ledger and invoices stay as they
 * are: they hold no personal data and are kept for tax law.
 */
public final class TenantPrivacy {
  private final TenantAdmin tenants;
  private final TenantDataKeys dataKeys;
  private final WebhookEndpoints endpoints;
  private final WebhookStore webhookStore;
  private final Invoices invoices;
  private final Clock clock;

  public TenantPrivacy(TenantAdmin tenants, TenantDataKeys dataKeys, WebhookEndpoints endpoints,
                       WebhookStore webhookStore, Invoices invoices, Clock clock) {
    this.tenants = tenants;
    this.dataKeys = dataKeys;
    this.endpoints = endpoints;
    this.webhookStore = webhookStore;
    this.invoices = invoices;
    this.clock = clock;
  }

  /**
   * Everything held about the tenant, as JSON: its record and keys (never a secret), budget alerts, webhook
   * endpoints, every invoice with its credit notes, and its usage for each invoiced month and the current one.
   */
  public CompletionStage<Map<String, Object>> export(String id) {
    return tenants.get(id).thenCompose(summary -> dataKeys.state(id).thenCompose(key -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("tenantId", id);
      out.put("exportedAt", clock.instant().toString());
      out.put("erasedAt", key.erasedAt().map(Object::toString).orElse(null));
      out.put("tenant", AdminRoutes.tenantJson(summary));
      return endpoints.list(id)
          .thenCompose(hooks -> {
            out.put("webhookEndpoints", hooks);
            return invoices.list(id);
          })
          .thenCompose(list -> {
            List<CompletableFuture<Map<String, Object>>> views = new ArrayList<>();
            for (var inv : list) {
              views.add(invoices.get(inv.id()).thenApply(InvoiceDocuments::json).toCompletableFuture());
            }
            TreeSet<String> months = new TreeSet<>();
            list.forEach(inv -> months.add(inv.month()));
            months.add(YearMonth.now(clock.withZone(ZoneOffset.UTC)).toString());
            return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new)).thenCompose(v -> {
              out.put("invoices", views.stream().map(CompletableFuture::join).toList());
              return usage(id, months);
            });
          })
          .thenApply(usage -> {
            out.put("usage", usage);
            return out;
          });
    }));
  }

  private CompletionStage<List<Object>> usage(String id, TreeSet<String> months) {
    CompletionStage<List<Object>> chain = CompletableFuture.completedFuture(new ArrayList<>());
    for (String month : months.descendingSet()) {
      chain = chain.thenCompose(acc -> tenants.usage(id, Optional.of(month)).thenApply(report -> {
        acc.add(report);
        return acc;
      }));
    }
    return chain;
  }

  /**
   * Erases the tenant's personal data for good: revokes its keys (nothing runs or is billed under it again), deletes
   * its webhook endpoints with their delivery history, and destroys its data key. {@code confirm} must repeat the
   * tenant id. Running it again changes nothing and answers the same.
   */
  public CompletionStage<Map<String, Object>> erase(String id, String confirm) {
    if (!id.equals(confirm)) {
      throw new IllegalArgumentException("erasing tenant " + id + " cannot be undone: send {\"confirm\": \"" + id
          + "\"} to go ahead");
    }
    return tenants.get(id).thenCompose(summary -> {
      CompletionStage<Integer> revoked = CompletableFuture.completedFuture(0);
      for (TenantEntity.KeyInfo k : summary.keys()) {
        if (!k.revoked()) {
          revoked = revoked.thenCompose(n -> tenants.revokeKey(id, k.keyId()).thenApply(s -> n + 1));
        }
      }
      return revoked.thenCompose(n -> webhookStore.eraseTenant(id).thenCompose(hooks -> dataKeys.erase(id)
          .thenApply(at -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tenantId", id);
            m.put("erasedAt", at.toString());
            m.put("keysRevoked", n);
            m.put("webhookEndpointsDeleted", hooks);
            m.put("kept", "usage, ledger and invoices (no personal data; kept for tax law)");
            return m;
          })));
    });
  }
}
