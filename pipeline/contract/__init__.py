"""The export contract: the typed models an export is validated into (``models``), the
sanitising types they use for rich and plain text (``sanitise``), the credit-code check
(``credit_code``), and the JSON Schema / OpenAPI written from the models (``docs``)."""
