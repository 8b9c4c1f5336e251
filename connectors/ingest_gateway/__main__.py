from connectors.ingest_gateway.server import serve
from connectors.ingest_gateway.settings import GatewaySettings

serve(GatewaySettings())
