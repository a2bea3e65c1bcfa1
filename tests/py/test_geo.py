"""redis-py's GEO API against ferrokv, in RESP2 and RESP3: what its
response callbacks parse (distances, coordinates, hashes) must come out
as a Redis user's code expects."""
import pytest

PLACES = (13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")


def test_geoadd_pos_dist_hash(r):
    assert r.geoadd("Sicily", PLACES) == 2
    assert r.geoadd("Sicily", (13.5, 38.1, "Palermo"), ch=True) == 1
    assert r.geoadd("Sicily", (13.361389, 38.115556, "Palermo"), xx=True) == 0
    lon, lat = r.geopos("Sicily", "Palermo")[0]
    assert lon == pytest.approx(13.361389, abs=1e-5) and lat == pytest.approx(38.115556, abs=1e-5)
    assert r.geopos("Sicily", "nosuch") == [None]
    assert r.geodist("Sicily", "Palermo", "Catania", unit="km") == pytest.approx(166.2742, abs=1e-3)
    assert r.geodist("Sicily", "Palermo", "nosuch") is None
    assert r.geohash("Sicily", "Palermo", "Catania", "nosuch") == ["sqc8b49rny0", "sqdtr74hyu0", None]
    assert r.type("Sicily") == "zset"


def test_search_and_store(r):
    r.geoadd("Sicily", PLACES)
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km", sort="ASC") == ["Catania", "Palermo"]
    near = r.geosearch("Sicily", member="Palermo", width=400, height=400, unit="km", withdist=True, withcoord=True, withhash=True, sort="ASC")
    assert [p[0] for p in near] == ["Palermo", "Catania"]
    assert near[0][1] == 0.0 and near[1][1] == pytest.approx(166.2742, abs=1e-3)
    assert near[0][2] == 3479099956230698
    assert near[0][3][0] == pytest.approx(13.361389, abs=1e-5)
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km", count=1, any=True) in (["Palermo"], ["Catania"])
    assert r.georadius("Sicily", 15, 37, 200, unit="km", withdist=True, sort="DESC") == [["Palermo", 190.4424], ["Catania", 56.4413]]
    assert r.georadiusbymember("Sicily", "Palermo", 100, unit="km") == ["Palermo"]
    assert r.geosearchstore("near", "Sicily", longitude=15, latitude=37, radius=200, unit="km", storedist=True) == 2
    assert [tuple(e) for e in r.zrange("near", 0, -1, withscores=True)] == [("Catania", pytest.approx(56.4413, abs=1e-3)), ("Palermo", pytest.approx(190.4424, abs=1e-3))]
    assert r.georadius("Sicily", 15, 37, 200, unit="km", store="copy") == 2
    assert r.zscore("copy", "Palermo") == 3479099956230698
    with pytest.raises(Exception, match="could not decode requested zset member"):
        r.geosearch("Sicily", member="nosuch", radius=1, unit="km")
