namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// An HttpClient (one handler, one connection pool, one TLS material) shared by concurrent attempts. A reload
/// retires it; it is disposed only when the last attempt using it has released it, so rotation never
/// fails a request in flight.
/// </summary>
internal sealed class ClientLease(HttpClient client, ClientTlsMaterial? material)
{
    // Starts at 1: the pool's own reference, dropped on retirement.
    private int _references = 1;

    public HttpClient Client { get; } = client;

    public ClientTlsMaterial? Material { get; } = material;

    public bool TryAcquire()
    {
        int n;
        do
        {
            n = Volatile.Read(ref _references);
            if (n == 0)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _references, n + 1, n) != n);
        return true;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Client.Dispose();
            Material?.Dispose();
        }
    }
}
